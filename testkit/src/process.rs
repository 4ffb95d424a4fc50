//! Real `otn-server` processes: start one on a configuration file, learn its addresses from its
//! log, kill it with SIGKILL, start it again.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `otn-server` process.
pub struct ServerProcess {
    child: Child,
    /// Its gRPC address.
    pub grpc_addr: String,
    /// Its HTTP (webhook) address.
    pub http_addr: String,
    /// Its admin address (`/metrics`, `/readyz`).
    pub admin_addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `bin` with `args` and waits (at most 60 s) for it to log its addresses. Its log
    /// (stdout and stderr) is kept for [`ServerProcess::log`].
    pub fn start(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        Self::spawn(Command::new(bin), args, env)
    }

    /// [`ServerProcess::with_config`] at a lower CPU priority (`nice -n 10`): a test whose
    /// Graph API stand-in measures timing runs the servers below it, as the real Graph API does
    /// not share their machine.
    pub fn with_config_niced(bin: &Path, config: &Path) -> ServerProcess {
        let mut cmd = Command::new("nice");
        cmd.args(["-n", "10"]).arg(bin);
        let config = config.to_string_lossy().to_string();
        Self::spawn(cmd, &["--config", &config], &[])
    }

    /// [`ServerProcess::with_config`] under an open-file limit of `nofile` (soft and hard), as a
    /// container with a small `ulimit -n` runs it.
    pub fn with_config_and_file_limit(bin: &Path, config: &Path, nofile: u32) -> ServerProcess {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}")).arg(bin);
        let config = config.to_string_lossy().to_string();
        Self::spawn(cmd, &["--config", &config], &[])
    }

    fn spawn(mut cmd: Command, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        // No NO_COLOR: the server must find out by itself that its output is not a terminal.
        cmd.args(args)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn otn-server");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for out in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let (tx, log) = (tx.clone(), log.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let (Some(g), Some(h)) =
                        (field(&line, "grpc_addr="), field(&line, "http_addr="))
                    {
                        let a = field(&line, "admin_addr=").unwrap_or_default();
                        let _ = tx.send((g, h, a));
                    }
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let (grpc_addr, http_addr, admin_addr) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let lines = log.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                panic!("otn-server did not log its addresses within 60 s:\n{lines}");
            }
        };
        ServerProcess {
            child,
            grpc_addr,
            http_addr,
            admin_addr,
            log,
        }
    }

    /// Starts `bin --config <config>`.
    pub fn with_config(bin: &Path, config: &Path) -> ServerProcess {
        let config = config.to_string_lossy().to_string();
        Self::start(bin, &["--config", &config], &[])
    }

    /// `http://<grpc_addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Every line it logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, and wait for it to exit (at most 30 s); its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        self.child.wait().expect("reaped")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, key: &str) -> Option<String> {
    let rest = line.split(key).nth(1)?;
    Some(rest.chars().take_while(|c| !c.is_whitespace()).collect())
}

/// Runs `bin` with `args` to completion; its exit code, stdout and stderr.
pub fn run(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin);
    cmd.args(args).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run otn-server");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a configuration file into `dir` and returns its path.
pub fn write_config(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join(format!("otn-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, toml).expect("write config");
    path
}

/// Creates an API key with `otn-server --config <config> api-key create`, as an operator
/// would; the key is the last line the command prints.
pub fn create_key(bin: &Path, config: &Path, name: &str, scopes: &[&str]) -> String {
    let config = config.to_string_lossy().to_string();
    let mut args = vec![
        "--config",
        config.as_str(),
        "api-key",
        "create",
        "--name",
        name,
    ];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let (code, out, err) = run(bin, &args, &[]);
    assert_eq!(code, 0, "api-key create failed:\n{out}\n{err}");
    out.lines().last().expect("a key").trim().to_string()
}
