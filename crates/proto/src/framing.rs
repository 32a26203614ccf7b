//! One JSON object per line, over any byte stream. Lines are bounded so a peer cannot make us buffer
//! without end.

use std::io::{BufRead, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Longest line accepted (bytes, newline included).
pub const MAX_LINE: usize = 64 * 1024;

/// Why a line could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// The stream failed.
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the stream before a whole line arrived.
    #[error("peer closed the stream")]
    Closed,
    /// The line exceeded [`MAX_LINE`].
    #[error("line longer than {MAX_LINE} bytes")]
    TooLong,
    /// The line was not the expected JSON.
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads one line and parses it. Reads byte-exactly up to the newline, so bytes that follow the line
/// stay in `r`'s buffer for the caller.
pub fn read_json_line<T: DeserializeOwned, R: BufRead + ?Sized>(r: &mut R) -> Result<T, FramingError> {
    let mut line = Vec::new();
    let n = std::io::Read::take(&mut *r, MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(FramingError::Closed);
    }
    if line.last() != Some(&b'\n') {
        return Err(if n >= MAX_LINE {
            FramingError::TooLong
        } else {
            FramingError::Closed
        });
    }
    Ok(serde_json::from_slice(&line)?)
}

/// Writes `msg` as one line and flushes.
pub fn write_json_line<T: Serialize, W: Write>(w: &mut W, msg: &T) -> Result<(), FramingError> {
    let mut line = serde_json::to_vec(msg)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor, Read};

    use super::*;
    use crate::{ForwardRequest, Transport};

    #[test]
    fn a_line_then_raw_bytes() {
        let mut buf = Vec::new();
        write_json_line(
            &mut buf,
            &ForwardRequest {
                transport: Transport::Tcp,
                port: 8080,
            },
        )
        .unwrap();
        buf.extend_from_slice(b"GET / HTTP/1.0\r\n");
        let mut r = BufReader::new(Cursor::new(buf));
        let req: ForwardRequest = read_json_line(&mut r).unwrap();
        assert_eq!(req.port, 8080);
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "GET / HTTP/1.0\r\n");
    }

    #[test]
    fn closed_truncated_and_endless_lines_are_errors() {
        let mut empty = BufReader::new(Cursor::new(Vec::new()));
        assert!(matches!(
            read_json_line::<ForwardRequest, _>(&mut empty),
            Err(FramingError::Closed)
        ));
        let mut half = BufReader::new(Cursor::new(b"{\"transport\":".to_vec()));
        assert!(matches!(
            read_json_line::<ForwardRequest, _>(&mut half),
            Err(FramingError::Closed)
        ));
        let mut endless = BufReader::new(Cursor::new(vec![b'x'; MAX_LINE + 10]));
        assert!(matches!(
            read_json_line::<ForwardRequest, _>(&mut endless),
            Err(FramingError::TooLong)
        ));
        let mut junk = BufReader::new(Cursor::new(b"nope\n".to_vec()));
        assert!(matches!(
            read_json_line::<ForwardRequest, _>(&mut junk),
            Err(FramingError::Json(_))
        ));
    }
}
