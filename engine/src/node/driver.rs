//! The node driver: the one loop every runtime (sim, net, the testkit) runs around a
//! [`Node`] (quinn's driver over quinn-proto, written once).
//!
//! After each event fed to the node the driver drains [`Node::poll_command`] and hands every
//! command to the runtime's [`Interpret::execute`], in order. A command whose answer is there
//! at once (an in-memory disk, a piece hashed while its blocks were written) pushes that
//! answer on the driver's ready queue instead of scheduling it; once the batch is
//! interpreted the runtime hears the node's next deadline ([`Interpret::rearm`]) and the
//! driver feeds the oldest ready answer back at the same instant, and so on until the queue
//! is empty. Every runtime thus sees the same order:
//!
//! ```text
//! handle(event) → execute(c1) … execute(cn) → rearm → handle(ready 1) → execute … → rearm → …
//! ```

use std::collections::VecDeque;

use crate::node::io::{Command, Input};
use crate::node::Node;
use crate::time::Time;

/// What a runtime does with a node's commands.
pub trait Interpret {
    /// The time now (virtual in the simulator).
    fn now(&mut self) -> Time;

    /// Carries out one command. An answer available at once goes into `ready`; the driver
    /// feeds it back at the same instant, after the rest of this batch.
    fn execute(&mut self, command: Command, ready: &mut VecDeque<Input>);

    /// The node's next deadline after a batch of commands; runtimes that keep one timer
    /// per node rearm it here.
    fn rearm(&mut self, _deadline: Option<Time>) {}
}

/// The ready queue of same-instant answers, kept between calls so it allocates once.
/// It is empty whenever a method returns.
#[derive(Debug, Default)]
pub struct Driver {
    ready: VecDeque<Input>,
}

impl Driver {
    /// Starts `node` ([`Node::start`]) and interprets what it asks for.
    pub fn start(&mut self, node: &mut Node, runtime: &mut impl Interpret) {
        let now = runtime.now();
        node.start(now);
        self.settle(node, runtime);
    }

    /// Feeds one event ([`Node::handle`]) and interprets what follows.
    pub fn handle(&mut self, node: &mut Node, input: Input, runtime: &mut impl Interpret) {
        let now = runtime.now();
        node.handle(now, input);
        self.settle(node, runtime);
    }

    /// Fires the node's due timers ([`Node::handle_timeout`]) and interprets what follows.
    pub fn handle_timeout(&mut self, node: &mut Node, runtime: &mut impl Interpret) {
        let now = runtime.now();
        node.handle_timeout(now);
        self.settle(node, runtime);
    }

    /// Stops the node ([`Node::shutdown`]: connections closed, `stopped` announced if it
    /// announced before) and interprets its last commands.
    pub fn shutdown(&mut self, node: &mut Node, runtime: &mut impl Interpret) {
        let now = runtime.now();
        node.shutdown(now);
        self.settle(node, runtime);
    }

    /// Interprets commands and feeds ready answers back until neither is left.
    fn settle(&mut self, node: &mut Node, runtime: &mut impl Interpret) {
        loop {
            while let Some(command) = node.poll_command() {
                runtime.execute(command, &mut self.ready);
            }
            runtime.rearm(node.poll_timeout());
            let Some(input) = self.ready.pop_front() else {
                return;
            };
            let now = runtime.now();
            node.handle(now, input);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitfield::Bitfield;
    use crate::metainfo::InfoHash;
    use crate::node::config::NodeConfig;
    use crate::node::io::{AnnounceEvent, Report};
    use crate::node::TorrentSpec;
    use crate::piece::Geometry;
    use std::sync::Arc;
    use std::time::Duration;

    /// Records what it is asked, answers announces at once with no peers.
    #[derive(Default)]
    struct Recorder {
        log: Vec<String>,
    }

    impl Interpret for Recorder {
        fn now(&mut self) -> Time {
            Time::ZERO
        }
        fn execute(&mut self, command: Command, ready: &mut VecDeque<Input>) {
            if let Command::Announce(request) = &command {
                self.log.push(format!("announce {:?}", request.event));
                if request.event != AnnounceEvent::Stopped {
                    ready.push_back(Input::AnnounceDone {
                        peers: Vec::new(),
                        interval: Duration::from_secs(30),
                    });
                }
            } else if let Command::Report(Report::Closed { .. }) = command {
                self.log.push("closed".into());
            }
        }
        fn rearm(&mut self, deadline: Option<Time>) {
            self.log.push(format!("rearm {}", deadline.is_some()));
        }
    }

    fn node() -> Node {
        let geometry = Geometry::new(64 * 1024, 32 * 1024).expect("geometry");
        let spec = TorrentSpec {
            info_hash: InfoHash([3; 20]),
            geometry,
            piece_hashes: Arc::from(vec![[0; 20]; 2]),
        };
        Node::new(spec, NodeConfig::new([9; 20]), Bitfield::full(2), 1)
    }

    #[test]
    fn ready_answers_are_fed_back_after_the_batch_and_shutdown_announces_stopped() {
        let (mut driver, mut recorder, mut node) = (Driver::default(), Recorder::default(), node());
        driver.start(&mut node, &mut recorder);
        driver.shutdown(&mut node, &mut recorder);
        assert_eq!(
            recorder.log,
            [
                "announce Started",
                "rearm true",
                "rearm true", // after the ready AnnounceDone
                "announce Stopped",
                "rearm false",
            ]
        );
        assert!(driver.ready.is_empty());
    }
}
