//! A tracker on `127.0.0.1:0` in its own thread and runtime, and the calls tests make on it.
//! Self-contained over `super::http`: the root crate's seeding tests compile it too
//! (`tests/cli/tracker_rig.rs`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use swarm_tracker::{SeedStarter, TrackerConfig};
use tokio::sync::oneshot;

use super::http::{request, Response};

/// A running server; dropping it shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with `config` (its `listen` is replaced by `127.0.0.1:0`). It runs
    /// no seeds: starting one answers `501`, as the tracker does when nothing is injected.
    pub fn start(config: TrackerConfig) -> TestServer {
        Self::start_with(config, None)
    }

    /// [`Self::start`] with `seeder` running the manager's seeds (the root crate's tests
    /// pass the binary's, as `swarm tracker` does).
    pub fn start_with(
        mut config: TrackerConfig,
        seeder: Option<Arc<dyn SeedStarter>>,
    ) -> TestServer {
        config.listen = "127.0.0.1:0".parse().unwrap();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                swarm_tracker::serve_with_seeder(listener, config, seeder, async {
                    let _ = shutdown_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not start");
        TestServer {
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], &[])
    }

    pub fn post_json(&self, path: &str, json: &serde_json::Value) -> Response {
        let body = serde_json::to_vec(json).unwrap();
        request(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            &body,
        )
    }

    /// A state-changing API call as the page or a fleet client makes it: JSON body and
    /// type, and [`AUTHENTICATED`] headers.
    pub fn api(&self, method: &str, path: &str, json: &serde_json::Value) -> Response {
        let body = serde_json::to_vec(json).unwrap();
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend_from_slice(AUTHENTICATED);
        request(self.addr, method, path, &headers, &body)
    }

    /// Uploads `content` as multipart field `file` named `file_name`.
    pub fn upload(&self, path: &str, file_name: &str, content: &[u8]) -> Response {
        self.upload_with(path, file_name, content, &[])
    }

    /// [`Self::upload`] from a browser holding `cookie` (`swarm_token=...`).
    pub fn upload_as(&self, path: &str, file_name: &str, content: &[u8], cookie: &str) -> Response {
        self.upload_with(path, file_name, content, &[("Cookie", cookie)])
    }

    fn upload_with(
        &self,
        path: &str,
        file_name: &str,
        content: &[u8],
        extra: &[(&str, &str)],
    ) -> Response {
        let boundary = "swarmtestboundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        body.extend_from_slice(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        ).as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let mut headers = vec![("Content-Type", content_type.as_str())];
        headers.extend_from_slice(extra);
        request(self.addr, "POST", path, &headers, &body)
    }

    /// GETs JSON.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        response.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Headers of an authenticated call. Empty until the fleet token lands (h/fleet): then
/// this becomes `Authorization: Bearer <the test token>` and every test that changes
/// state through [`TestServer::api`] is authenticated.
pub const AUTHENTICATED: &[(&str, &str)] = &[];

/// A plain config in a fresh data directory.
pub fn config(data_dir: &Path) -> TrackerConfig {
    let mut config = TrackerConfig::new("127.0.0.1:0".parse().unwrap(), data_dir);
    config.interval_s = 30;
    config
}

/// [`config`] that allows registering paths under `dir/<allowed>` (created), with the
/// data in `dir/data`.
pub fn allowing(dir: &Path, allowed: &str) -> TrackerConfig {
    std::fs::create_dir_all(dir.join(allowed)).unwrap();
    let mut config = config(&dir.join("data"));
    config.allowed_dir = Some(dir.join(allowed));
    config
}
