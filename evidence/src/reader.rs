//! Reads a bundle's lines from a gzip stream without ever holding more than one line, and
//! refuses what would make it hold more: a line over [`MAX_LINE_BYTES`], more than
//! [`MAX_LINES`] lines, more than [`MAX_DECOMPRESSED_BYTES`] decompressed, or a compression
//! ratio no JSON Lines bundle has (a zip bomb).

use std::io::{BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

/// The longest line read (a plan with a long route is the longest line a bundle has).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// The most lines read.
pub const MAX_LINES: u64 = 100_000_000;
/// The most bytes decompressed.
pub const MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;
/// Past [`RATIO_FROM_BYTES`] decompressed, a stream expanding more than this many times its
/// compressed size is refused as a bomb. JSON Lines of fixes compress about 5 to 15 times,
/// lines repeated verbatim 100 to 1,000 times;
/// deflate's own limit is about 1,032.
pub const MAX_RATIO: u64 = 100;
pub const RATIO_FROM_BYTES: u64 = 16 << 20;

/// Why the file could not be read as a bundle's lines.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("the file is not gzip-compressed ({0})")]
    NotGzip(String),
    #[error("the file is cut short: its compressed stream ends in the middle ({0})")]
    Truncated(String),
    #[error("line {0} is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong(u64),
    #[error("the file has more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("the file decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes")]
    TooLarge,
    #[error("the file expands more than {MAX_RATIO} times its compressed size: a zip bomb, not a bundle")]
    Bomb,
    #[error("reading the file: {0}")]
    Io(String),
}

/// Counts the compressed bytes read.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The lines of a bundle, one at a time.
pub struct LineReader<R: Read> {
    gzip: BufReader<GzDecoder<BufReader<Counted<R>>>>,
    line: Vec<u8>,
    lines: u64,
    decompressed: u64,
    started: bool,
}

impl<R: Read> LineReader<R> {
    pub fn new(file: R) -> Self {
        let counted = BufReader::new(Counted { inner: file, read: 0 });
        LineReader {
            gzip: BufReader::with_capacity(64 * 1024, GzDecoder::new(counted)),
            line: Vec::new(),
            lines: 0,
            decompressed: 0,
            started: false,
        }
    }

    /// How many lines were read.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The next line with its newline (the last line may lack one), or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, ReadError> {
        self.line.clear();
        loop {
            let available = match self.gzip.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) => return Err(self.io_error(e)),
            };
            self.started = true;
            if available.is_empty() {
                break;
            }
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            if self.line.len() + take > MAX_LINE_BYTES + 1 {
                return Err(ReadError::LineTooLong(self.lines + 1));
            }
            self.line.extend_from_slice(&available[..take]);
            self.gzip.consume(take);
            self.decompressed += take as u64;
            if self.decompressed > MAX_DECOMPRESSED_BYTES {
                return Err(ReadError::TooLarge);
            }
            let compressed = self.gzip.get_ref().get_ref().get_ref().read.max(1);
            if self.decompressed > RATIO_FROM_BYTES && self.decompressed / compressed > MAX_RATIO {
                return Err(ReadError::Bomb);
            }
            if done {
                break;
            }
        }
        if self.line.is_empty() {
            return Ok(None);
        }
        self.lines += 1;
        if self.lines > MAX_LINES {
            return Err(ReadError::TooManyLines);
        }
        Ok(Some(&self.line))
    }

    fn io_error(&self, e: std::io::Error) -> ReadError {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ReadError::Truncated(e.to_string()),
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData if !self.started => {
                ReadError::NotGzip(e.to_string())
            }
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                ReadError::Io(format!("the compressed stream is damaged: {e}"))
            }
            _ => ReadError::Io(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn all(file: &[u8]) -> Result<Vec<Vec<u8>>, ReadError> {
        let mut reader = LineReader::new(file);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line()? {
            out.push(line.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn lines_come_back_with_their_newlines() {
        let lines = all(&gzip(b"{\"a\":1}\n{\"b\":2}\nlast")).unwrap();
        assert_eq!(lines, vec![b"{\"a\":1}\n".to_vec(), b"{\"b\":2}\n".to_vec(), b"last".to_vec()]);
    }

    #[test]
    fn not_gzip_a_long_line_a_bomb_and_a_cut_file_are_refused() {
        assert!(matches!(all(b"hello, not gzip at all"), Err(ReadError::NotGzip(_))));
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        assert_eq!(all(&gzip(&long)), Err(ReadError::LineTooLong(1)));
        // 40 MiB of newlines compress to about 40 KB: refused long before the end.
        let bomb = gzip(&vec![b'\n'; 40 << 20]);
        assert!(bomb.len() < 100_000);
        assert_eq!(all(&bomb), Err(ReadError::Bomb));
        let whole = gzip(&b"{\"section\":\"fix\"}\n".repeat(10_000));
        let cut = &whole[..whole.len() / 2];
        assert!(matches!(all(cut), Err(ReadError::Truncated(_))), "{:?}", all(cut).err());
    }
}
