//! Pseudo-terminal pairs: the demo's simulated receivers (and the tests) write NMEA into the
//! master side, and the agent reads the slave side exactly as it reads a serial port.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use anyhow::Context;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};

/// An open pseudo-terminal. Write receiver output to `master`; open `slave_path` as the serial
/// device. The slave side is held open so the terminal does not hang up between the agent's
/// reopenings.
pub struct PtyPair {
    pub master: File,
    pub slave_path: PathBuf,
    _slave: OwnedFd,
}

impl PtyPair {
    pub fn open() -> anyhow::Result<Self> {
        let pty = nix::pty::openpty(None, None).context("openpty")?;
        // Raw mode: no echo back into the master, no line-ending translation.
        let mut termios = tcgetattr(&pty.slave).context("tcgetattr")?;
        cfmakeraw(&mut termios);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).context("tcsetattr")?;
        let slave_path = nix::unistd::ttyname(&pty.slave).context("ttyname")?;
        Ok(Self { master: File::from(pty.master), slave_path, _slave: pty.slave })
    }
}
