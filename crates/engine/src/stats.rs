//! A container's resource use, computed the way `docker stats` computes it: CPU % from the change in the
//! container's and the system's CPU time between two readings, memory without the reclaimable page
//! cache (`inactive_file`).

use bollard::models::{ContainerCpuStats, ContainerMemoryStats, ContainerStatsResponse};
use bollard::query_parameters::StatsOptions;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::docker::docker_error;
use crate::{DockerApi, Error, Result};

/// One reading of a container's resource use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsSample {
    /// CPU use since the previous reading; 100 is one CPU fully busy.
    pub cpu_percent: f64,
    /// CPUs the container can use.
    pub online_cpus: u32,
    /// Memory in use, without the reclaimable page cache.
    pub memory_bytes: u64,
    /// The container's memory limit (the machine's memory when it has none); 0 when unknown.
    pub memory_limit: u64,
    /// `memory_bytes` as a percentage of `memory_limit`.
    pub memory_percent: f64,
    /// Bytes received over all its networks.
    pub net_rx_bytes: u64,
    /// Bytes sent over all its networks.
    pub net_tx_bytes: u64,
    /// Processes and threads in it.
    pub pids: Option<u64>,
}

impl DockerApi {
    /// A reading about every second until the container stops (then the stream ends) or is dropped.
    pub fn stats(&self, id: &str) -> impl Stream<Item = Result<StatsSample>> + Send + 'static {
        let opts = StatsOptions {
            stream: true,
            one_shot: false,
        };
        self.client
            .stats(id, Some(opts))
            .map(|s| s.map(|s| sample_from(&s)).map_err(docker_error))
    }

    /// One reading (Docker takes two a second apart, so CPU % is meaningful).
    pub async fn stats_once(&self, id: &str) -> Result<StatsSample> {
        let opts = StatsOptions {
            stream: false,
            one_shot: false,
        };
        let mut s = Box::pin(self.client.stats(id, Some(opts)));
        match s.next().await {
            Some(r) => r.map(|s| sample_from(&s)).map_err(docker_error),
            None => Err(Error::Docker(format!("no statistics for {id}; is it running?"))),
        }
    }
}

/// The reading in a Docker stats answer.
pub fn sample_from(s: &ContainerStatsResponse) -> StatsSample {
    let default_cpu = ContainerCpuStats::default();
    let cpu = s.cpu_stats.as_ref().unwrap_or(&default_cpu);
    let pre = s.precpu_stats.as_ref().unwrap_or(&default_cpu);
    let memory_bytes = s.memory_stats.as_ref().map(memory_usage).unwrap_or(0);
    let memory_limit = s.memory_stats.as_ref().and_then(|m| m.limit).unwrap_or(0);
    let (rx, tx) = s
        .networks
        .iter()
        .flatten()
        .fold((0u64, 0u64), |(rx, tx), (_, n)| {
            (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
        });
    StatsSample {
        cpu_percent: cpu_percent(cpu, pre),
        online_cpus: online_cpus(cpu),
        memory_bytes,
        memory_limit,
        memory_percent: if memory_limit > 0 {
            memory_bytes as f64 / memory_limit as f64 * 100.0
        } else {
            0.0
        },
        net_rx_bytes: rx,
        net_tx_bytes: tx,
        pids: s.pids_stats.as_ref().and_then(|p| p.current),
    }
}

/// `docker stats`' CPU %: (container CPU time delta / system CPU time delta) × online CPUs × 100.
pub fn cpu_percent(cur: &ContainerCpuStats, pre: &ContainerCpuStats) -> f64 {
    let total = |c: &ContainerCpuStats| c.cpu_usage.as_ref().and_then(|u| u.total_usage).unwrap_or(0) as f64;
    let system = |c: &ContainerCpuStats| c.system_cpu_usage.unwrap_or(0) as f64;
    let cpu_delta = total(cur) - total(pre);
    let system_delta = system(cur) - system(pre);
    if cpu_delta > 0.0 && system_delta > 0.0 {
        cpu_delta / system_delta * online_cpus(cur) as f64 * 100.0
    } else {
        0.0
    }
}

fn online_cpus(c: &ContainerCpuStats) -> u32 {
    match c.online_cpus {
        Some(n) if n > 0 => n,
        _ => c
            .cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map(|p| p.len() as u32)
            .unwrap_or(0),
    }
}

/// Memory in use without the page cache the kernel can reclaim, as `docker stats` shows it: usage minus
/// `total_inactive_file` (cgroup v1) or `inactive_file` (cgroup v2).
pub fn memory_usage(m: &ContainerMemoryStats) -> u64 {
    let usage = m.usage.unwrap_or(0);
    let stat = |k: &str| m.stats.as_ref().and_then(|s| s.get(k)).copied();
    if let Some(v) = stat("total_inactive_file").filter(|v| *v < usage) {
        return usage - v;
    }
    match stat("inactive_file") {
        Some(v) if v < usage => usage - v,
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading from Docker 26 on cgroup v2 (trimmed), as the stats endpoint sends it.
    const CGROUP2: &str = r#"{
      "read": "2024-05-01T10:00:01.000000000Z",
      "preread": "2024-05-01T10:00:00.000000000Z",
      "pids_stats": { "current": 3, "limit": 4611 },
      "cpu_stats": {
        "cpu_usage": { "total_usage": 2500000000, "usage_in_kernelmode": 1000, "usage_in_usermode": 2000 },
        "system_cpu_usage": 40000000000, "online_cpus": 2,
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 }
      },
      "precpu_stats": {
        "cpu_usage": { "total_usage": 2000000000 },
        "system_cpu_usage": 38000000000, "online_cpus": 2
      },
      "memory_stats": {
        "usage": 10485760,
        "stats": { "inactive_file": 2097152, "active_file": 1000, "anon": 8000000 },
        "limit": 2147483648
      },
      "name": "/web", "id": "abc",
      "networks": {
        "eth0": { "rx_bytes": 1000, "rx_packets": 10, "rx_errors": 0, "rx_dropped": 0,
                  "tx_bytes": 500, "tx_packets": 5, "tx_errors": 0, "tx_dropped": 0 },
        "eth1": { "rx_bytes": 24, "tx_bytes": 12 }
      }
    }"#;

    #[test]
    fn a_reading_is_computed_as_docker_stats_does() {
        let s: ContainerStatsResponse = serde_json::from_str(CGROUP2).unwrap();
        let got = sample_from(&s);
        // 0.5 s of CPU over 2 s of system time on 2 CPUs: 50 %.
        assert!((got.cpu_percent - 50.0).abs() < 1e-9, "{}", got.cpu_percent);
        assert_eq!(got.online_cpus, 2);
        assert_eq!(
            got.memory_bytes,
            10485760 - 2097152,
            "the page cache is not counted"
        );
        assert_eq!(got.memory_limit, 2147483648);
        assert!(
            (got.memory_percent - 0.390625).abs() < 1e-9,
            "{}",
            got.memory_percent
        );
        assert_eq!((got.net_rx_bytes, got.net_tx_bytes), (1024, 512));
        assert_eq!(got.pids, Some(3));
    }

    #[test]
    fn cgroup_v1_subtracts_total_inactive_file() {
        let m = ContainerMemoryStats {
            usage: Some(1000),
            stats: Some(
                [
                    ("total_inactive_file".to_string(), 300),
                    ("inactive_file".to_string(), 100),
                ]
                .into(),
            ),
            ..Default::default()
        };
        assert_eq!(memory_usage(&m), 700);
        let odd = ContainerMemoryStats {
            usage: Some(100),
            stats: Some([("inactive_file".into(), 500)].into()),
            ..m
        };
        assert_eq!(
            memory_usage(&odd),
            100,
            "a cache larger than the usage is ignored"
        );
    }

    #[test]
    fn deltas_from_the_first_reading_count_and_an_empty_one_is_zero() {
        // The first reading of a stream has empty precpu_stats; a stopped container has nothing at all.
        let first: ContainerStatsResponse = serde_json::from_str(
            r#"{"cpu_stats":{"cpu_usage":{"total_usage":5},"system_cpu_usage":10,"online_cpus":1},"precpu_stats":{"cpu_usage":{"total_usage":0}}}"#,
        )
        .unwrap();
        assert!(
            sample_from(&first).cpu_percent > 0.0,
            "deltas from zero still count, as in docker stats"
        );
        let empty = sample_from(&ContainerStatsResponse::default());
        assert_eq!(empty, StatsSample::default());
    }

    #[test]
    fn online_cpus_fall_back_to_the_per_cpu_list() {
        let c: ContainerCpuStats = serde_json::from_str(
            r#"{"cpu_usage":{"total_usage":4,"percpu_usage":[1,1,1,1]},"system_cpu_usage":8}"#,
        )
        .unwrap();
        let pre: ContainerCpuStats =
            serde_json::from_str(r#"{"cpu_usage":{"total_usage":0},"system_cpu_usage":0}"#).unwrap();
        assert_eq!(cpu_percent(&c, &pre), 4.0 / 8.0 * 4.0 * 100.0);
    }
}
