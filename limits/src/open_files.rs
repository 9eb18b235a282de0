//! The process's open-files limit (`RLIMIT_NOFILE`): read, and raised to the most allowed.
//!
//! The soft limit is often 1,024 for compatibility with `select()`, which Convoy does not use
//! (tokio waits with epoll): a server that keeps thousands of connections raises it to the hard
//! limit, which only the administrator (systemd's `LimitNOFILE=`) can raise further.

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

/// The soft limit (what the process may open now) and the hard one (what it may raise it to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft: u64,
    pub hard: u64,
}

/// The current limits.
pub fn current() -> std::io::Result<OpenFiles> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(std::io::Error::from)?;
    Ok(OpenFiles { soft, hard })
}

/// Raises the soft limit to the hard one; returns the limits before and after.
pub fn raise_to_hard() -> std::io::Result<(OpenFiles, OpenFiles)> {
    let before = current()?;
    // An unlimited hard limit cannot be the soft one: Linux refuses more than fs.nr_open.
    let target = match before.hard {
        RLIM_INFINITY => system_ceiling(),
        hard => hard,
    };
    if target > before.soft {
        setrlimit(Resource::RLIMIT_NOFILE, target, before.hard).map_err(std::io::Error::from)?;
    }
    Ok((before, current()?))
}

/// The most descriptors one process may have on this system (Linux's `fs.nr_open`; its default
/// elsewhere).
fn system_ceiling() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit_and_never_lowers() {
        let (before, after) = raise_to_hard().unwrap();
        assert!(after.soft >= before.soft);
        assert_eq!(after.hard, before.hard);
        if before.hard != RLIM_INFINITY {
            assert_eq!(after.soft, before.hard);
        }
    }
}
