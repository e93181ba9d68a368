//! Per-message send options: reliability, priority, ordering channel (docs/protocol.md §7.3, §9.6).

/// Number of ordering channels RakNet offers (`NUMBER_OF_ORDERED_STREAMS`).
pub const ORDERING_CHANNELS: u8 = 32;

/// RakNet's `PacketReliability`, with its numeric values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reliability {
    /// May be lost, duplicated or reordered.
    Unreliable = 0,
    /// May be lost; never delivered older than one already delivered on its channel.
    UnreliableSequenced = 1,
    /// Resent until acknowledged; delivered once, in any order.
    Reliable = 2,
    /// Reliable, delivered in send order per channel.
    ReliableOrdered = 3,
    /// Reliable transport; delivery drops anything older than the newest delivered.
    ReliableSequenced = 4,
    /// As `Unreliable`, plus a local acked/lost receipt.
    UnreliableWithAckReceipt = 5,
    /// As `Reliable`, plus a local acked receipt.
    ReliableWithAckReceipt = 6,
    /// As `ReliableOrdered`, plus a local acked receipt.
    ReliableOrderedWithAckReceipt = 7,
}

impl Reliability {
    /// All eight, in numeric order.
    pub const ALL: [Reliability; 8] = [
        Reliability::Unreliable,
        Reliability::UnreliableSequenced,
        Reliability::Reliable,
        Reliability::ReliableOrdered,
        Reliability::ReliableSequenced,
        Reliability::UnreliableWithAckReceipt,
        Reliability::ReliableWithAckReceipt,
        Reliability::ReliableOrderedWithAckReceipt,
    ];

    /// The reliability for a numeric value, `None` above 7.
    pub fn from_u8(v: u8) -> Option<Reliability> {
        Reliability::ALL.get(usize::from(v)).copied()
    }

    /// Whether bit `self` of `mask` is set: the predicates below are asked several
    /// times per frame on the send and receive paths, and one shift of a constant is
    /// cheaper than the branches of a `match`. Each mask lists the numeric values (0..=7)
    /// the predicate holds for; `tests::predicates_match_their_definitions` checks them
    /// against the definitions spelled out with `matches!`.
    #[inline]
    const fn in_set(self, mask: u8) -> bool {
        (mask >> self as u8) & 1 != 0
    }

    /// What goes on the wire: receipt kinds travel as their plain kinds (docs/protocol.md §7.1).
    #[inline]
    pub fn wire(self) -> Reliability {
        const WIRE: [Reliability; 8] = [
            Reliability::Unreliable,
            Reliability::UnreliableSequenced,
            Reliability::Reliable,
            Reliability::ReliableOrdered,
            Reliability::ReliableSequenced,
            Reliability::Unreliable,
            Reliability::Reliable,
            Reliability::ReliableOrdered,
        ];
        WIRE[self as usize]
    }

    /// Resent until acknowledged (wire kinds 2, 3, 4, and receipt kinds 6, 7).
    #[inline]
    pub fn is_reliable(self) -> bool {
        self.in_set(0b1101_1100)
    }

    /// Carries ordering index and channel on the wire (ordered or sequenced: 1, 3, 4, 7).
    #[inline]
    pub fn is_ordered_or_sequenced(self) -> bool {
        self.in_set(0b1001_1010)
    }

    /// Carries a sequencing index on the wire (1, 4).
    #[inline]
    pub fn is_sequenced(self) -> bool {
        self.in_set(0b0001_0010)
    }

    /// Delivered in ordering-index order (3, 7).
    #[inline]
    pub fn is_ordered(self) -> bool {
        self.in_set(0b1000_1000)
    }

    /// The application asked for an acked/lost receipt (5, 6, 7).
    #[inline]
    pub fn has_receipt(self) -> bool {
        self.in_set(0b1110_0000)
    }

    /// The kind a split message is upgraded to (docs/protocol.md §8.1).
    pub fn for_split(self) -> Reliability {
        match self {
            Reliability::Unreliable => Reliability::Reliable,
            Reliability::UnreliableSequenced => Reliability::ReliableSequenced,
            Reliability::UnreliableWithAckReceipt => Reliability::ReliableWithAckReceipt,
            other => other,
        }
    }
}

/// RakNet's `PacketPriority`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Priority {
    /// Sent at once, ahead of everything else.
    Immediate = 0,
    /// Weighted ahead of medium and low.
    High = 1,
    /// Weighted ahead of low (`SendOptions::default()` uses `High`).
    Medium = 2,
    /// Background traffic.
    Low = 3,
}

impl Priority {
    /// The priority for a numeric value, `None` above 3.
    pub fn from_u8(v: u8) -> Option<Priority> {
        match v {
            0 => Some(Priority::Immediate),
            1 => Some(Priority::High),
            2 => Some(Priority::Medium),
            3 => Some(Priority::Low),
            _ => None,
        }
    }
}

/// How one message is sent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SendOptions {
    /// Delivery guarantee.
    pub reliability: Reliability,
    /// Scheduling priority.
    pub priority: Priority,
    /// Ordering channel, `0..ORDERING_CHANNELS`.
    pub channel: u8,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            reliability: Reliability::ReliableOrdered,
            priority: Priority::High,
            channel: 0,
        }
    }
}

impl SendOptions {
    /// Options with the given reliability, high priority (the default), channel 0.
    pub fn new(reliability: Reliability) -> SendOptions {
        SendOptions {
            reliability,
            ..SendOptions::default()
        }
    }
    /// The same options on another channel.
    pub fn on_channel(self, channel: u8) -> SendOptions {
        SendOptions { channel, ..self }
    }
}

/// A send receipt serial: per peer, starts at 1, skips 0 on wrap (docs/protocol.md §7.5).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Receipt(pub u32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_kinds_map_to_plain_kinds() {
        assert_eq!(
            Reliability::UnreliableWithAckReceipt.wire(),
            Reliability::Unreliable
        );
        assert_eq!(
            Reliability::ReliableWithAckReceipt.wire(),
            Reliability::Reliable
        );
        assert_eq!(
            Reliability::ReliableOrderedWithAckReceipt.wire(),
            Reliability::ReliableOrdered
        );
        for r in Reliability::ALL {
            assert_eq!(Reliability::from_u8(r as u8), Some(r));
            assert!((r.wire() as u8) < 5);
        }
        assert_eq!(Reliability::from_u8(8), None);
    }

    #[test]
    fn predicates_match_their_definitions() {
        use Reliability::*;
        for r in Reliability::ALL {
            let wire = match r {
                UnreliableWithAckReceipt => Unreliable,
                ReliableWithAckReceipt => Reliable,
                ReliableOrderedWithAckReceipt => ReliableOrdered,
                other => other,
            };
            assert_eq!(r.wire(), wire, "{r:?}");
            assert_eq!(
                r.is_reliable(),
                matches!(wire, Reliable | ReliableOrdered | ReliableSequenced),
                "{r:?}"
            );
            assert_eq!(
                r.is_ordered_or_sequenced(),
                matches!(
                    wire,
                    UnreliableSequenced | ReliableOrdered | ReliableSequenced
                ),
                "{r:?}"
            );
            assert_eq!(
                r.is_sequenced(),
                matches!(wire, UnreliableSequenced | ReliableSequenced),
                "{r:?}"
            );
            assert_eq!(r.is_ordered(), wire == ReliableOrdered, "{r:?}");
            assert_eq!(
                r.has_receipt(),
                matches!(
                    r,
                    UnreliableWithAckReceipt
                        | ReliableWithAckReceipt
                        | ReliableOrderedWithAckReceipt
                ),
                "{r:?}"
            );
        }
    }
}
