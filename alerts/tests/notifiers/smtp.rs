//! An SMTP server: aiosmtpd (Python), writing each message it receives to a directory; with a
//! certificate and key, it requires STARTTLS before anything else.

use super::*;

pub(crate) const SMTP_SERVER: &str = r#"
import json, os, sys, threading
from email import message_from_bytes, policy
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

outdir, port = sys.argv[1], int(sys.argv[2])
tls = {}
if len(sys.argv) > 4:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    tls = {"tls_context": context, "require_starttls": True}

class Save:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(outdir, "%06d" % self.count)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with open(base + ".json", "w") as f:
            # As a mail reader shows it: the subject and text decoded (RFC 2047, charset, transfer encoding).
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "login": login, "tls": bool(session.ssl),
                       "subject": str(message["subject"]), "text": message.get_content()}, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 Message accepted for delivery"

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"convoy" and auth_data.password == b"s3cret"
    if ok:
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)  # handled=False: the server answers 535

controller = Controller(Save(), hostname="127.0.0.1", port=port,
                        authenticator=authenticate, auth_require_tls=False, **tls)
controller.start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// A Python that has aiosmtpd: `$CONVOY_TEST_PYTHON`, `python3`, or Debian's `/usr/bin/python3`
/// (where `apt-get install python3-aiosmtpd` puts it).
pub(crate) fn python_with_aiosmtpd() -> String {
    let mut candidates = Vec::new();
    if let Ok(python) = std::env::var("CONVOY_TEST_PYTHON") {
        candidates.push(python);
    }
    candidates.push("python3".to_string());
    candidates.push("/usr/bin/python3".to_string());
    for python in &candidates {
        let works = Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false);
        if works {
            return python.clone();
        }
    }
    panic!(
        "no Python with aiosmtpd among {candidates:?}: install it with `apt-get install python3-aiosmtpd` \
         (scripts/test.sh does), or set CONVOY_TEST_PYTHON"
    )
}

pub(crate) struct Smtp {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) dir: tempfile::TempDir,
}

impl Smtp {
    pub(crate) fn start() -> Smtp {
        Self::start_with(None)
    }

    /// A server that requires STARTTLS with this certificate and key.
    pub(crate) fn start_with_starttls(certificate: &convoy_testkit::CertFiles) -> Smtp {
        Self::start_with(Some(certificate))
    }

    fn start_with(certificate: Option<&convoy_testkit::CertFiles>) -> Smtp {
        let python = python_with_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SMTP_SERVER).unwrap();
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).unwrap();
        let port = convoy_testkit::free_port();
        let child = Command::new(python)
            .args(["-W", "ignore"]) // aiosmtpd warns about its own deprecated attribute
            .arg(&script)
            .arg(&mail)
            .arg(port.to_string())
            .args(certificate.iter().flat_map(|c| [&c.cert_file, &c.key_file]))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the SMTP server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        assert!(
            convoy_testkit::wait_for_port(addr, Duration::from_secs(15)),
            "aiosmtpd did not start on {addr}"
        );
        Smtp { child, port, dir }
    }

    pub(crate) fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// The messages received so far: (envelope JSON, raw message), in order.
    pub(crate) fn received(&self) -> Vec<(serde_json::Value, String)> {
        read_mail(&self.mail_dir())
    }

    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<(serde_json::Value, String)> {
        let deadline = Instant::now() + within;
        loop {
            let mail = self.received();
            if mail.len() >= n {
                return mail;
            }
            assert!(Instant::now() < deadline, "the SMTP server received {} of {n} messages", mail.len());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub(crate) fn read_mail(dir: &Path) -> Vec<(serde_json::Value, String)> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|eml| {
            let envelope = std::fs::read_to_string(eml.with_extension("json")).unwrap();
            (serde_json::from_str(&envelope).unwrap(), std::fs::read_to_string(&eml).unwrap())
        })
        .collect()
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header of a raw message (unfolded), by name.
pub(crate) fn mail_header(raw: &str, name: &str) -> Option<String> {
    let (head, _) = raw.split_once("\r\n\r\n")?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

pub(crate) fn mail_body(raw: &str) -> String {
    raw.split_once("\r\n\r\n").map(|(_, body)| body.replace("\r\n", "\n")).unwrap_or_default()
}
