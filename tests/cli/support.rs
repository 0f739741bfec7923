//! Running the binary (to completion, or as a child process killed when dropped), a bare
//! HTTP client, making test content, finding reference tools.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use swarm_testsupport::process::{free_port, wait_for, Reaper as Proc};
pub use swarm_testsupport::tools::{libtorrent as libtorrent_python, mktorrent};

use serde_json::Value;

/// What a run of `swarm` produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output on failure.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `swarm ARGS` in `cwd`.
pub fn swarm_in(cwd: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_swarm"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("run swarm");
    finish(output)
}

/// Sends `proc` SIGTERM (a graceful stop, as systemd does) and waits up to `limit` for it
/// to exit; it is killed after that.
pub fn terminate(mut proc: Proc, limit: Duration) {
    let pid = proc.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let start = Instant::now();
    while start.elapsed() < limit {
        if matches!(proc.0.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `swarm ARGS` with `RUST_LOG=info`, its stderr to `log`.
pub fn spawn(args: &[&str], log: &Path) -> Proc {
    let log = fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_swarm"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn swarm");
    Proc(child)
}

/// A bare HTTP/1.0 request with a JSON body; returns the status and body (0 and empty
/// when the server cannot be reached).
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    http_with(addr, method, path, &[], body)
}

/// [`http`] with extra header lines (`("Authorization", "Bearer x")`).
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: test\r\nContent-Type: application/json\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// `GET path` parsed as JSON, if it answered 200 with JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let (status, body) = http(addr, "GET", path, "");
    (status == 200)
        .then(|| serde_json::from_str(&body).ok())
        .flatten()
}

/// `path` as a `&str` for argument lists.
/// `get img.torrent -o OUT --listen 127.0.0.1 --port 0 EXTRA...`: a download into `out`, on a
/// free loopback port, of the torrent `img.torrent` in the working directory.
pub fn get_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "get",
        "img.torrent",
        "-o",
        out,
        "--listen",
        "127.0.0.1",
        "--port",
        "0",
    ];
    args.extend_from_slice(extra);
    args
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Writes `len` pseudo-random bytes (xorshift from `seed`) to `path`, creating parents.
pub fn write_random(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    fs::write(path, &bytes).expect("write test file");
    bytes
}

/// A multi-file tree: `root/a.bin`, `root/sub/b.bin`, `root/sub/deeper/c.bin`, `root/empty`.
pub fn make_tree(root: &Path) {
    write_random(&root.join("a.bin"), 70_000, 1);
    write_random(&root.join("sub/b.bin"), 33_333, 2);
    write_random(&root.join("sub/deeper/c.bin"), 100_001, 3);
    fs::write(root.join("empty"), b"").expect("write empty file");
}

/// Flips one bit of the byte at `offset` in `path`.
pub fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).expect("read");
    bytes[offset] ^= 0x40;
    fs::write(path, bytes).expect("write");
}

/// Runs a Python script with arguments; returns its stdout parsed as JSON.
#[track_caller]
pub fn python_json(python: &Path, script: &str, args: &[&str]) -> Value {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    let run = finish(output);
    assert_eq!(run.code, 0, "python failed:\n{}", run.stderr);
    run.json()
}

/// Python definitions: `describe(path)` tells how libtorrent reads a torrent.
const LT_COMMON: &str = r#"
import json, os, sys
import libtorrent as lt

def describe(path):
    ti = lt.torrent_info(path)
    hashes = getattr(ti, "info_hashes", None)
    v1 = str(hashes().v1) if hashes else str(ti.info_hash())
    fs = ti.files()
    return {
        "info_hash": v1,
        "name": ti.name(),
        "total_size": ti.total_size(),
        "piece_length": ti.piece_length(),
        "piece_count": ti.num_pieces(),
        "private": bool(ti.priv()),
        "piece_hashes": [bytes(ti.hash_for_piece(i)).hex() for i in range(ti.num_pieces())],
        "files": [[fs.file_path(i), fs.file_size(i)] for i in range(fs.num_files())],
        "trackers": [t.url for t in ti.trackers()],
    }
"#;

/// Python: `TORRENT` → how libtorrent reads it, as JSON.
pub fn lt_describe_script() -> String {
    format!("{LT_COMMON}\nprint(json.dumps(describe(sys.argv[1])))\n")
}

/// Python: `PATH OUT PIECE_LENGTH V1_ONLY(0|1)` → makes a torrent of PATH with libtorrent
/// (hybrid v1+v2 unless V1_ONLY, as libtorrent 2 does by default), prints how it reads it.
pub fn lt_create_script() -> String {
    format!(
        "{LT_COMMON}{}",
        r#"
path, out, piece_length, v1_only = sys.argv[1:5]
fs = lt.file_storage()
lt.add_files(fs, path)
flags = lt.create_torrent.v1_only if v1_only == "1" else 0
t = lt.create_torrent(fs, int(piece_length), flags=flags)
t.add_tracker("http://tracker.invalid/announce")
lt.set_piece_hashes(t, os.path.dirname(os.path.abspath(path)))
with open(out, "wb") as f:
    f.write(lt.bencode(t.generate()))
print(json.dumps(describe(out)))
"#
    )
}
