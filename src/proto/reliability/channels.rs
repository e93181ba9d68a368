//! Per-channel state for the 32 ordering channels of one connection (docs/protocol.md §7.4),
//! created on first use: most connections use one or two channels, so a fixed array of 32
//! would be mostly dead weight in every idle connection. The sender keeps its next
//! ordering and sequencing indexes here, the receiver its ordering queues. This file
//! knows nothing about what the state means.

use crate::proto::options::ORDERING_CHANNELS;

/// State of type `T` for each channel in use, by channel number. Lookups are a mask test
/// and a popcount; a new channel costs one insertion (at most 32 ever).
#[derive(Debug)]
pub(super) struct ChannelMap<T> {
    /// Bit `c` set: channel `c` has an entry in `list`.
    used: u32,
    /// Entries of the channels in use, in channel order.
    list: Vec<T>,
}

impl<T> Default for ChannelMap<T> {
    fn default() -> Self {
        ChannelMap {
            used: 0,
            list: Vec::new(),
        }
    }
}

impl<T: Default> ChannelMap<T> {
    /// Position of channel `ch` (< 32) in `list`, present or not.
    #[inline]
    fn slot(&self, ch: u8) -> usize {
        (self.used & ((1u32 << ch) - 1)).count_ones() as usize
    }

    /// Channel `ch`'s state, if the channel is in use.
    #[inline]
    pub(super) fn get(&self, ch: u8) -> Option<&T> {
        if ch >= ORDERING_CHANNELS || self.used >> ch & 1 == 0 {
            return None;
        }
        self.list.get(self.slot(ch))
    }

    /// Channel `ch`'s state, if the channel is in use.
    #[inline]
    pub(super) fn get_mut(&mut self, ch: u8) -> Option<&mut T> {
        if ch >= ORDERING_CHANNELS || self.used >> ch & 1 == 0 {
            return None;
        }
        let i = self.slot(ch);
        self.list.get_mut(i)
    }

    /// Channel `ch`'s state, created (as `T::default()`) if new; `None` for a channel
    /// number over 31.
    #[inline]
    pub(super) fn get_or_create(&mut self, ch: u8) -> Option<&mut T> {
        if ch >= ORDERING_CHANNELS {
            return None;
        }
        if self.used >> ch & 1 == 0 {
            self.create(ch);
        }
        let i = self.slot(ch);
        self.list.get_mut(i)
    }

    /// Adds channel `ch` (< 32, not in use); out of line, as it happens once per channel.
    #[cold]
    fn create(&mut self, ch: u8) {
        let i = self.slot(ch);
        // One entry at a time: idle connections keep exactly what they use.
        self.list.reserve_exact(1);
        self.list.insert(i, T::default());
        self.used |= 1 << ch;
    }

    /// The states of the channels in use.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.list.iter()
    }

    /// The same, to change.
    pub(super) fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.list.iter_mut()
    }

    /// Channels in use.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_on_first_use_in_channel_order() {
        let mut m = ChannelMap::<u32>::default();
        assert!(m.get(0).is_none());
        for (ch, v) in [(7u8, 70u32), (3, 30), (31, 310), (0, 1), (7, 71)] {
            *m.get_or_create(ch).unwrap() = v;
        }
        assert_eq!(m.len(), 4);
        assert_eq!(m.list, [1, 30, 71, 310]);
        assert_eq!(m.get(31), Some(&310));
        assert_eq!(m.get(3), Some(&30));
        *m.get_mut(3).unwrap() += 1;
        assert_eq!(m.get(3), Some(&31));
        assert!(m.get_mut(4).is_none() && m.get_mut(32).is_none());
        assert!(m.get(4).is_none() && m.get(32).is_none() && m.get(255).is_none());
        assert!(m.get_or_create(32).is_none());
        assert_eq!(m.list.capacity(), 4);
    }
}
