//! `rak_send_options` and the reliability and priority constants: validated integers in,
//! `proto::SendOptions` out. C integers are never transmuted into Rust enums.

use super::result::rak_result;
use crate::proto::{Priority, Reliability, SendOptions, ORDERING_CHANNELS};

/// RakNet's `PacketReliability`, with its numeric values: the `reliability` of
/// `rak_send_options` and `rak_event`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_reliability {
    /// May be lost, duplicated or reordered.
    Unreliable = 0,
    /// May be lost; never delivered older than one already delivered on its channel.
    UnreliableSequenced = 1,
    /// Resent until acknowledged; delivered once, in any order.
    Reliable = 2,
    /// Reliable, delivered in send order per channel. The default.
    ReliableOrdered = 3,
    /// Reliable transport; anything older than the newest delivered is dropped.
    ReliableSequenced = 4,
    /// As UNRELIABLE, plus a RECEIPT_ACKED or RECEIPT_LOST event.
    UnreliableWithAckReceipt = 5,
    /// As RELIABLE, plus a RECEIPT_ACKED event.
    ReliableWithAckReceipt = 6,
    /// As RELIABLE_ORDERED, plus a RECEIPT_ACKED event.
    ReliableOrderedWithAckReceipt = 7,
}

/// RakNet's `PacketPriority`: the `priority` of `rak_send_options`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rak_priority {
    /// Sent at once, ahead of everything else.
    Immediate = 0,
    /// Weighted ahead of medium and low. The default.
    High = 1,
    /// Normal traffic.
    Medium = 2,
    /// Background traffic.
    Low = 3,
}

/// `rak_reliability` as it crosses the ABI. The header declares it with the enum's
/// typedef (cbindgen.toml renames this alias); Rust receives the plain integer and
/// validates it, as a Rust enum holding a value C made up would be undefined behaviour.
pub type rak_reliability_raw = u32;

/// `rak_priority` as it crosses the ABI. The header declares it with the enum's
/// typedef (cbindgen.toml renames this alias); Rust receives the plain integer and
/// validates it, as a Rust enum holding a value C made up would be undefined behaviour.
pub type rak_priority_raw = u32;

/// Number of ordering channels: `channel` is 0 to `RAK_CHANNELS - 1`.
pub const RAK_CHANNELS: u32 = 32;

const _: () = assert!(RAK_CHANNELS == ORDERING_CHANNELS as u32);

/// How one message is sent. Pass NULL instead for the defaults:
/// `RAK_RELIABILITY_RELIABLE_ORDERED`, `RAK_PRIORITY_HIGH`, channel 0.
///
/// Each field is validated: an unknown reliability or priority, or a channel
/// >= `RAK_CHANNELS`, makes the send return `RAK_RESULT_INVALID_ARGUMENT`.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct rak_send_options {
    /// One of `RAK_RELIABILITY_*`.
    pub reliability: rak_reliability_raw,
    /// One of `RAK_PRIORITY_*`.
    pub priority: rak_priority_raw,
    /// Ordering channel, used by the ordered and sequenced kinds.
    pub channel: u32,
}

impl Default for rak_send_options {
    fn default() -> Self {
        let d = SendOptions::default();
        rak_send_options {
            reliability: d.reliability as u32,
            priority: d.priority as u32,
            channel: u32::from(d.channel),
        }
    }
}

impl TryFrom<rak_send_options> for SendOptions {
    type Error = rak_result;

    fn try_from(o: rak_send_options) -> Result<SendOptions, rak_result> {
        let small = |v: u32| u8::try_from(v).map_err(|_| rak_result::InvalidArgument);
        let reliability = Reliability::from_u8(small(o.reliability)?);
        let priority = Priority::from_u8(small(o.priority)?);
        match (reliability, priority) {
            (Some(reliability), Some(priority)) if o.channel < RAK_CHANNELS => Ok(SendOptions {
                reliability,
                priority,
                channel: small(o.channel)?,
            }),
            _ => Err(rak_result::InvalidArgument),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_values_match_the_core() {
        for r in Reliability::ALL {
            let o = rak_send_options {
                reliability: r as u32,
                ..Default::default()
            };
            assert_eq!(SendOptions::try_from(o).map(|s| s.reliability), Ok(r));
        }
        assert_eq!(
            rak_reliability::ReliableOrderedWithAckReceipt as u32,
            Reliability::ReliableOrderedWithAckReceipt as u32
        );
        assert_eq!(rak_priority::Low as u32, Priority::Low as u32);
        let bad = |reliability, priority, channel| {
            SendOptions::try_from(rak_send_options {
                reliability,
                priority,
                channel,
            })
        };
        assert_eq!(bad(8, 0, 0), Err(rak_result::InvalidArgument));
        assert_eq!(bad(256 + 3, 0, 0), Err(rak_result::InvalidArgument));
        assert_eq!(bad(0, 4, 0), Err(rak_result::InvalidArgument));
        assert_eq!(bad(0, 0, 32), Err(rak_result::InvalidArgument));
        assert_eq!(bad(0, 0, u32::MAX), Err(rak_result::InvalidArgument));
        assert!(bad(7, 3, 31).is_ok());
    }
}
