//! The statistics queue's payload: packed `struct virtio_balloon_stat { le16 tag; le64 val; }` entries
//! (10 bytes each). Unknown tags are skipped, a trailing partial entry is ignored.

use serde::{Deserialize, Serialize};

/// Size of one packed statistic.
pub const STAT_LEN: usize = 10;
/// Most statistics read from one buffer (Linux sends 10 to 16).
pub const MAX_STATS: usize = 64;

/// What the guest last told us about its memory; bytes for memory amounts, counts for events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalloonStats {
    /// Bytes swapped in (`VIRTIO_BALLOON_S_SWAP_IN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap_in: Option<u64>,
    /// Bytes swapped out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap_out: Option<u64>,
    /// Major page faults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major_faults: Option<u64>,
    /// Minor page faults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor_faults: Option<u64>,
    /// Free memory (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_memory: Option<u64>,
    /// Total memory the guest sees (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_memory: Option<u64>,
    /// Available memory as in the guest's /proc/meminfo (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_memory: Option<u64>,
    /// Page cache (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_caches: Option<u64>,
    /// Huge page allocations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hugetlb_allocations: Option<u64>,
    /// Huge page allocation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hugetlb_failures: Option<u64>,
    /// OOM kills (newer kernels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kills: Option<u64>,
}

impl BalloonStats {
    /// Parses packed statistics; returns the stats and how many entries had a tag we do not know.
    pub fn parse(bytes: &[u8]) -> (Self, usize) {
        let mut s = BalloonStats::default();
        let mut unknown = 0;
        for entry in bytes.chunks_exact(STAT_LEN).take(MAX_STATS) {
            let tag = u16::from_le_bytes([entry[0], entry[1]]);
            let mut val = [0u8; 8];
            val.copy_from_slice(&entry[2..]);
            let val = Some(u64::from_le_bytes(val));
            match tag {
                0 => s.swap_in = val,
                1 => s.swap_out = val,
                2 => s.major_faults = val,
                3 => s.minor_faults = val,
                4 => s.free_memory = val,
                5 => s.total_memory = val,
                6 => s.available_memory = val,
                7 => s.disk_caches = val,
                8 => s.hugetlb_allocations = val,
                9 => s.hugetlb_failures = val,
                10 => s.oom_kills = val,
                _ => unknown += 1,
            }
        }
        (s, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn packed(stats: &[(u16, u64)]) -> Vec<u8> {
        stats
            .iter()
            .flat_map(|(t, v)| t.to_le_bytes().into_iter().chain(v.to_le_bytes()))
            .collect()
    }

    #[test]
    fn known_tags_fill_fields_and_the_rest_is_counted_or_ignored() {
        let mut bytes = packed(&[
            (4, 100 << 20),
            (5, 512 << 20),
            (6, 300 << 20),
            (2, 7),
            (99, 1),
            (10, 0),
        ]);
        bytes.extend_from_slice(&[1, 2, 3]); // a partial entry
        let (s, unknown) = BalloonStats::parse(&bytes);
        assert_eq!(unknown, 1);
        assert_eq!(s.free_memory, Some(100 << 20));
        assert_eq!(s.total_memory, Some(512 << 20));
        assert_eq!(s.available_memory, Some(300 << 20));
        assert_eq!(s.major_faults, Some(7));
        assert_eq!(s.oom_kills, Some(0));
        assert_eq!(s.swap_in, None);
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains("\"free_memory\":104857600") && !json.contains("swap_in"),
            "{json}"
        );
        assert_eq!(BalloonStats::parse(&[]), (BalloonStats::default(), 0));
    }

    #[test]
    fn at_most_max_stats_entries_are_read() {
        let many: Vec<(u16, u64)> = (0..MAX_STATS as u64 + 10).map(|i| (200, i)).collect();
        assert_eq!(BalloonStats::parse(&packed(&many)).1, MAX_STATS);
    }
}
