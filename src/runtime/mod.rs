//! The runtime: one network thread per peer owning the socket, the clock and a
//! `proto::Endpoint`; bounded lock-free queues to and from application threads.
