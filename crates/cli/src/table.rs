//! Compact aligned tables and human sizes for terminal output.

/// Renders `rows` under `headers`, columns two spaces apart; columns listed in `right` are right-aligned.
/// The last column is not padded.
pub fn render(headers: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate().take(cols) {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if right.contains(&i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i + 1 < cols {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Bytes as Docker shows them (SI units): `512 B`, `4.1 kB`, `72 MB`.
pub fn bytes(n: u64) -> String {
    scaled(n, &["B", "kB", "MB", "GB", "TB"], " ")
}

/// A count in short form: `193`, `20.5K`, `1.0B`.
pub fn count(n: u64) -> String {
    scaled(n, &["", "K", "M", "B", "T"], "")
}

fn scaled(n: u64, units: &[&str], sep: &str) -> String {
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < units.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}{sep}{}", units[0]).trim_end().to_string()
    } else if v < 10.0 {
        format!("{v:.1}{sep}{}", units[unit])
    } else {
        format!("{v:.0}{sep}{}", units[unit])
    }
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_sit_right() {
        let rows = vec![
            vec!["nginx".into(), "20.5K".into(), "web server".into()],
            vec!["bitnami/nginx".into(), "193".into(), "".into()],
        ];
        let t = render(&["NAME", "STARS", "DESCRIPTION"], &rows, &[1]);
        assert_eq!(
            t,
            "NAME           STARS  DESCRIPTION\n\
             nginx          20.5K  web server\n\
             bitnami/nginx    193\n"
        );
    }

    #[test]
    fn sizes_and_counts_read_like_docker() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(4096), "4.1 kB");
        assert_eq!(bytes(72_000_000), "72 MB");
        assert_eq!(count(193), "193");
        assert_eq!(count(20_512), "21K");
        assert_eq!(count(1_000_000_000), "1.0B");
        assert_eq!(cut("a  long\ndescription", 8), "a long …");
        assert_eq!(cut("short", 8), "short");
    }
}
