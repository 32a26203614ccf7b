//! The control channel: every host connection says `Hello`, gets `Hello` plus the current state, and
//! from then on receives every `Status`, `Ready` and `ServiceExited`. The [`Hub`] holds the guest's
//! phase and the list of connected clients; a client that cannot be written to is dropped. `Ping` and
//! `Usage` are answered on any connection, subscribed (after `Hello`) or not.

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_proto::{
    read_json_line, write_json_line, AgentMessage, FramingError, GuestUsage, HostMessage, Phase,
    PROTOCOL_VERSION,
};

use crate::sys::lock;

/// What a control client may ask of the rest of the agent.
pub trait Actions: Send + Sync {
    /// `SetClock`.
    fn set_clock(&self, unix_ms: u64);
    /// `Shutdown`.
    fn shutdown(&self, deadline_ms: u64);
    /// `Usage`: the guest's resource use now.
    fn usage(&self) -> GuestUsage;
}

type Client = Arc<Mutex<UnixStream>>;

struct State {
    phase: Phase,
    message: String,
    docker_version: Option<String>,
    clients: Vec<Client>,
}

/// The guest's state and the connected control clients.
pub struct Hub {
    state: Mutex<State>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            state: Mutex::new(State {
                phase: Phase::Booting,
                message: "booting".into(),
                docker_version: None,
                clients: Vec::new(),
            }),
        }
    }
}

impl Hub {
    /// The current phase.
    pub fn phase(&self) -> Phase {
        lock(&self.state).phase
    }

    /// Enters `phase` (logged and pushed). `Failed` and `Stopping` are final: from them only `Stopping`
    /// (or a new message in the same phase) is taken.
    pub fn set_phase(&self, phase: Phase, message: impl Into<String>) {
        let message = message.into();
        let mut st = lock(&self.state);
        let final_phase = matches!(st.phase, Phase::Stopping | Phase::Failed);
        if final_phase && phase != st.phase && phase != Phase::Stopping {
            return; // a failed or stopping guest does not go back
        }
        log!("phase: {phase:?}: {message}");
        if phase != Phase::Ready {
            st.docker_version = None;
        }
        st.phase = phase;
        st.message = message.clone();
        broadcast(&mut st, &AgentMessage::Status { phase, message });
    }

    /// A status line within the current phase.
    pub fn status(&self, message: impl Into<String>) {
        let phase = self.phase();
        self.set_phase(phase, message);
    }

    /// dockerd answers: phase `Ready` and a `Ready` push.
    pub fn ready(&self, docker_version: String) {
        self.set_phase(Phase::Ready, format!("Docker Engine {docker_version} is ready"));
        let mut st = lock(&self.state);
        if st.phase == Phase::Ready {
            st.docker_version = Some(docker_version.clone());
            broadcast(&mut st, &AgentMessage::Ready { docker_version });
        }
    }

    /// Pushes `msg` to every client.
    pub fn push(&self, msg: &AgentMessage) {
        broadcast(&mut lock(&self.state), msg);
    }

    /// Serves one control connection until it closes.
    pub fn serve(&self, stream: UnixStream, actions: &dyn Actions) {
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let writer = match stream.try_clone() {
            Ok(w) => Arc::new(Mutex::new(w)),
            Err(e) => return log!("control: {e}"),
        };
        let mut reader = BufReader::new(stream);
        loop {
            let msg: HostMessage = match read_json_line(&mut reader) {
                Ok(m) => m,
                Err(FramingError::Closed) => break,
                Err(FramingError::Json(e)) => {
                    log!("control: ignoring a malformed message: {e}");
                    continue;
                }
                Err(e) => {
                    log!("control: {e}");
                    break;
                }
            };
            let ok = match msg {
                HostMessage::Hello { protocol } => {
                    log!("control: host hello (protocol {protocol})");
                    self.welcome(&writer)
                }
                HostMessage::Ping => send(&writer, &AgentMessage::Pong),
                HostMessage::Usage => send(&writer, &AgentMessage::Usage(actions.usage())),
                HostMessage::SetClock { unix_ms } => {
                    actions.set_clock(unix_ms);
                    true
                }
                HostMessage::Shutdown { deadline_ms } => {
                    log!("control: shutdown requested (deadline {deadline_ms} ms)");
                    actions.shutdown(deadline_ms);
                    true
                }
            };
            if !ok {
                break;
            }
        }
        let mut st = lock(&self.state);
        st.clients.retain(|c| !Arc::ptr_eq(c, &writer));
    }

    /// Answers `Hello`, replays the state a late client missed, and subscribes it — all under the hub
    /// lock, so no push is lost or sent before the `Hello`.
    fn welcome(&self, writer: &Client) -> bool {
        let mut st = lock(&self.state);
        let hello = AgentMessage::Hello {
            protocol: PROTOCOL_VERSION,
            agent_version: env!("CARGO_PKG_VERSION").into(),
            kernel: crate::sys::kernel_release(),
            phase: st.phase,
        };
        let mut ok = send(writer, &hello)
            && send(
                writer,
                &AgentMessage::Status {
                    phase: st.phase,
                    message: st.message.clone(),
                },
            );
        if let Some(v) = &st.docker_version {
            ok = ok
                && send(
                    writer,
                    &AgentMessage::Ready {
                        docker_version: v.clone(),
                    },
                );
        }
        if ok && !st.clients.iter().any(|c| Arc::ptr_eq(c, writer)) {
            st.clients.push(writer.clone());
        }
        ok
    }
}

fn send(client: &Client, msg: &AgentMessage) -> bool {
    let mut w = lock(client);
    let ok = write_json_line(&mut *w, msg).is_ok();
    if !ok {
        let _ = w.shutdown(std::net::Shutdown::Both);
    }
    ok
}

fn broadcast(st: &mut State, msg: &AgentMessage) {
    st.clients.retain(|c| send(c, msg));
    let _ = std::io::stderr().flush();
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[derive(Default)]
    struct Recorder {
        clock: AtomicU64,
        deadline: AtomicU64,
    }

    impl Actions for Recorder {
        fn set_clock(&self, unix_ms: u64) {
            self.clock.store(unix_ms, Ordering::SeqCst);
        }
        fn shutdown(&self, deadline_ms: u64) {
            self.deadline.store(deadline_ms, Ordering::SeqCst);
        }
        fn usage(&self) -> GuestUsage {
            GuestUsage {
                memory: berth_proto::MemoryUsage {
                    total_bytes: 2 << 30,
                    available_bytes: 1 << 30,
                },
                ..Default::default()
            }
        }
    }

    fn next(r: &mut BufReader<UnixStream>) -> AgentMessage {
        read_json_line(r).unwrap()
    }

    #[test]
    fn hello_state_pushes_ping_and_actions() {
        let hub = Arc::new(Hub::default());
        let actions = Arc::new(Recorder::default());
        let (host, agent) = UnixStream::pair().unwrap();
        let (h, a) = (hub.clone(), actions.clone());
        let server = std::thread::spawn(move || h.serve(agent, &*a));
        let mut w = host.try_clone().unwrap();
        let mut r = BufReader::new(host);
        hub.set_phase(Phase::DataDisk, "not yet subscribed");
        write_json_line(&mut w, &HostMessage::Hello { protocol: 1 }).unwrap();
        assert!(matches!(
            next(&mut r),
            AgentMessage::Hello {
                protocol: 1,
                phase: Phase::DataDisk,
                ..
            }
        ));
        assert_eq!(
            next(&mut r),
            AgentMessage::Status {
                phase: Phase::DataDisk,
                message: "not yet subscribed".into()
            }
        );
        hub.ready("26.1.5".into());
        assert!(matches!(
            next(&mut r),
            AgentMessage::Status {
                phase: Phase::Ready,
                ..
            }
        ));
        assert_eq!(
            next(&mut r),
            AgentMessage::Ready {
                docker_version: "26.1.5".into()
            }
        );
        w.write_all(b"not json\n").unwrap();
        write_json_line(&mut w, &HostMessage::Ping).unwrap();
        assert_eq!(next(&mut r), AgentMessage::Pong);
        write_json_line(&mut w, &HostMessage::SetClock { unix_ms: 42 }).unwrap();
        write_json_line(&mut w, &HostMessage::Shutdown { deadline_ms: 7000 }).unwrap();
        write_json_line(&mut w, &HostMessage::Ping).unwrap();
        assert_eq!(next(&mut r), AgentMessage::Pong);
        assert_eq!(actions.clock.load(Ordering::SeqCst), 42);
        assert_eq!(actions.deadline.load(Ordering::SeqCst), 7000);
        drop(w);
        drop(r);
        server.join().unwrap();
        assert!(lock(&hub.state).clients.is_empty());
    }

    #[test]
    fn usage_is_answered_without_hello_and_without_subscribing() {
        let hub = Arc::new(Hub::default());
        let (host, agent) = UnixStream::pair().unwrap();
        let h = hub.clone();
        let server = std::thread::spawn(move || h.serve(agent, &Recorder::default()));
        let mut w = host.try_clone().unwrap();
        let mut r = BufReader::new(host);
        for _ in 0..2 {
            write_json_line(&mut w, &HostMessage::Usage).unwrap();
            match next(&mut r) {
                AgentMessage::Usage(u) => assert_eq!(u.memory.total_bytes, 2 << 30),
                other => panic!("expected usage, got {other:?}"),
            }
        }
        assert!(lock(&hub.state).clients.is_empty(), "no Hello: no pushes");
        hub.set_phase(Phase::Dockerd, "not for this connection");
        write_json_line(&mut w, &HostMessage::Ping).unwrap();
        assert_eq!(
            next(&mut r),
            AgentMessage::Pong,
            "the status push did not reach it"
        );
        drop(w);
        drop(r);
        server.join().unwrap();
    }

    #[test]
    fn a_late_client_gets_ready_and_dead_clients_are_dropped() {
        let hub = Arc::new(Hub::default());
        hub.ready("26.1.5".into());
        let (host, agent) = UnixStream::pair().unwrap();
        let h = hub.clone();
        let server = std::thread::spawn(move || h.serve(agent, &Recorder::default()));
        let mut w = host.try_clone().unwrap();
        write_json_line(&mut w, &HostMessage::Hello { protocol: 1 }).unwrap();
        let mut r = BufReader::new(host);
        let mut lines = Vec::new();
        for _ in 0..3 {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            lines.push(l);
        }
        assert!(lines[2].contains("\"ready\""), "{lines:?}");
        drop(r);
        drop(w);
        server.join().unwrap();
        hub.set_phase(Phase::Failed, "disk");
        hub.set_phase(Phase::Dockerd, "ignored after failure");
        assert_eq!(hub.phase(), Phase::Failed);
        assert_eq!(lock(&hub.state).message, "disk");
        hub.set_phase(Phase::Stopping, "bye");
        assert_eq!(hub.phase(), Phase::Stopping);
    }
}
