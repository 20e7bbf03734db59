// SPDX-License-Identifier: Apache-2.0
//! Test harness: spawn the `lk-gateway` binary on a free loopback port over a temp root,
//! talk raw HTTP/1.1 to it, and run the python-swiftclient scripts under `tests/py/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Users every test gateway has.
pub const USERS: [&str; 3] = [
    "test:tester:testing:admin",
    "test:reader:readkey",
    "other:admin:otherkey:admin",
];

/// A running gateway.
pub struct Gw {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The served root.
    pub root: PathBuf,
    extra: Vec<String>,
}

impl Gw {
    /// Starts a gateway over `root` with extra flags.
    pub fn start(root: &Path, extra: &[&str]) -> Gw {
        let mut gw = Gw {
            child: None,
            addr: String::new(),
            root: root.to_path_buf(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        gw.spawn();
        gw
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lk-gateway"));
        cmd.arg("--root")
            .arg(&self.root)
            .args(["--listen", "127.0.0.1:0", "--log", "warn"]);
        for u in USERS {
            cmd.args(["--user", u]);
        }
        cmd.args(&self.extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lk-gateway");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the listening line");
        self.addr = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|a| a.contains(':'))
            .unwrap_or_else(|| panic!("gateway did not start: {line:?}"))
            .to_string();
        self.child = Some(child);
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again over the same root (new port).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// tempauth URL.
    pub fn auth_url(&self) -> String {
        format!("http://{}/auth/v1.0", self.addr)
    }

    /// A token for `account:user` / key.
    pub fn token(&self, user: &str, key: &str) -> String {
        let r = self.req(
            "GET",
            "/auth/v1.0",
            &[("X-Auth-User", user), ("X-Auth-Key", key)],
            b"",
        );
        assert_eq!(r.status, 200, "auth {user}: {}", r.text());
        r.header("x-auth-token").expect("token").to_string()
    }

    /// One raw HTTP/1.1 request (the path is sent exactly as given).
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        raw_request(&self.addr, method, path, headers, body)
    }
}

impl Gw {
    /// SIGTERM, as a service manager stops it, then SIGKILL if it has not exited within
    /// 3 s. An orderly exit also lets a coverage build write its counters.
    pub fn stop(&mut self) {
        let Some(c) = self.child.as_mut() else {
            return;
        };
        if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if matches!(c.try_wait(), Ok(Some(_))) {
                self.child = None;
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.kill9();
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A gateway over its own temp root with a token for each user of [`USERS`]: the setup
/// most topic modules share (they add their own containers and helpers on top).
pub struct Cluster {
    /// Kept for as long as the gateway runs over it.
    _dir: tempfile::TempDir,
    /// The gateway.
    pub gw: Gw,
    /// `test:tester`, the admin of account `test`.
    pub admin: String,
    /// `test:reader`, a user of account `test` without admin rights.
    pub reader: String,
    /// `other:admin`, the admin of account `other`.
    pub other: String,
}

impl Cluster {
    /// Starts a gateway with no extra flags and logs every user in.
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = Gw::start(dir.path(), &[]);
        Cluster {
            admin: gw.token("test:tester", "testing"),
            reader: gw.token("test:reader", "readkey"),
            other: gw.token("other:admin", "otherkey"),
            _dir: dir,
            gw,
        }
    }

    /// A request as the holder of `token` (sent first, before `h`).
    pub fn as_(&self, token: &str, m: &str, p: &str, h: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut all = vec![("X-Auth-Token", token)];
        all.extend_from_slice(h);
        self.gw.req(m, p, &all, body)
    }

    /// A request as the admin of account `test`.
    pub fn req(&self, m: &str, p: &str, h: &[(&str, &str)], body: &[u8]) -> Resp {
        self.as_(&self.admin, m, p, h, body)
    }
}

/// `data` as a chunked body (one chunk, then the last one), for a request sent with
/// `Transfer-Encoding: chunked`.
pub fn chunked(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if !data.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A raw response.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Resp {
    /// A header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request with `Connection: close` and reads the whole answer.
pub fn raw_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    // A caller that frames the body itself (a length, or chunks) gets no length added.
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < eol + 2 + n {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[(eol + 4 + n).min(b.len())..];
    }
    out
}

/// The Python interpreter that has python-swiftclient. Fails (never skips) when none has it.
pub fn python() -> PathBuf {
    let candidates = ["/usr/bin/python3", "python3"];
    for c in candidates {
        let ok = Command::new(c)
            .args(["-c", "import swiftclient.client, swiftclient.shell"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return PathBuf::from(c);
        }
    }
    panic!(
        "python-swiftclient is not installed (tried {candidates:?}): these tests drive the gateway \
         with the real Swift client. Install it with `apt-get install python3-swiftclient` \
         (scripts/install-deps.sh does)."
    );
}

/// Runs `tests/py/<script>` against `gw`; panics with its output unless it exits 0.
pub fn run_py(gw: &Gw, script: &str, args: &[&str]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .env("ST_AUTH", gw.auth_url())
        .env("ST_USER", "test:tester")
        .env("ST_KEY", "testing")
        .env("GW_ROOT", &gw.root)
        .env("GW_ADDR", &gw.addr)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python");
    if !out.status.success() {
        panic!(
            "{script} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}
