# The C API renames of ABI 0.x (issue 14): one spelling per concept. GNU sed -E.
# Apply with scripts/rename-abi-0.x.sh, which picks the files (and leaves out the
# CHANGELOG, this script and the committed benchmark report, which name the old
# spellings on purpose). Re-applying it to a file that already has the new names
# changes nothing, so it can also run over a merge that mixes old and new text.
#
# Rules the renames follow (README, "C API conventions"):
# - a getter is rak_<object>_<noun>, without get_; the struct it fills is rak_<noun>;
# - "key pair" is two words (key_pair), as in rak_config_set_key_pair;
# - a call taking an options struct is named after it (_with_options), not _ex;
# - a connection is "conn" in names (rak_conn, rak_peer_conn_*);
# - units go in parameter names (timeout_ms), not in function names;
# - the size of a text buffer is RAK_<WHAT>_BYTES, NUL included.

# Statistics of the whole peer: the struct rak_peer_stats becomes rak_stats, and the
# getter rak_peer_get_stats() becomes rak_peer_stats(). The struct's old name is never
# followed by "(" or a closing quote, and the getter's new name always is (docs write it
# as `rak_peer_stats()`), which keeps this pair from renaming twice.
s/\brak_peer_stats\b([^("]|$)/rak_stats\1/g
s/\brak_peer_get_stats(\(\))?`/rak_peer_stats()`/g
s/\brak_peer_get_stats\b/rak_peer_stats/g

# Secure-mode key pairs.
s/\brak_keypair_(generate|public_key|save|load)\b/rak_key_pair_\1/g
s/\brak_keypair_\*/rak_key_pair_*/g

# Connecting with a rak_connect_options.
s/\brak_peer_connect_ex\b/rak_peer_connect_with_options/g
s/\bconnect_ex\b/connect_with_options/g

# Listing the peer's connections.
s/\brak_peer_connections\b/rak_peer_conns/g

# The config's default connection timeout, as the peer's per-connection one
# (rak_peer_set_conn_timeout); the occasional ping interval.
s/\brak_config_set_timeout_ms\b/rak_config_set_conn_timeout/g
s/\brak_config_set_occasional_ping_ms\b/rak_config_set_occasional_ping/g

# Text buffer sizes (as RAK_KEY_HEX_BYTES).
s/\bRAK_ADDRESS_STRLEN\b/RAK_ADDRESS_STR_BYTES/g
