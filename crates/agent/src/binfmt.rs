//! Foreign-architecture programs through QEMU user emulation: registers the image's binfmt_misc rules
//! (Debian's qemu-user ships one `binfmt.d` file per architecture; the image keeps only the emulators
//! it carries), as systemd-binfmt would. The rules use the `F` flag, so the kernel opens the emulator now,
//! in the guest's root, and containers run arm64 programs without any emulator in their own filesystem.

use std::fs;
use std::path::Path;

/// Where the image keeps the rules whose emulators it carries.
pub const RULES_DIR: &str = "/usr/share/qemu/binfmt.d";
const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// One `binfmt.d` rule: `:name:type:offset:magic:mask:interpreter:flags`, where the first character is
/// the field separator.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule<'a> {
    /// The rule's name (a file under /proc/sys/fs/binfmt_misc once registered).
    pub name: &'a str,
    /// The emulator the kernel runs the program with.
    pub interpreter: &'a str,
    /// The whole line, as the kernel's register file takes it.
    pub line: &'a str,
}

/// Parses one line of a `binfmt.d` file; comments and blank lines are `None`, as are malformed lines.
pub fn parse(line: &str) -> Option<Rule<'_>> {
    let line = line.trim();
    let sep = line.chars().next()?;
    if line.starts_with('#') || line.starts_with(';') {
        return None;
    }
    let fields: Vec<&str> = line[sep.len_utf8()..].split(sep).collect();
    // name, type, offset, magic, mask, interpreter, flags (flags may be absent)
    if fields.len() < 6 || fields[0].is_empty() || fields[5].is_empty() {
        return None;
    }
    if !matches!(fields[1], "M" | "E") {
        return None;
    }
    Some(Rule {
        name: fields[0],
        interpreter: fields[5],
        line,
    })
}

/// Mounts binfmt_misc and registers every rule in [`RULES_DIR`] whose emulator exists. Failures are
/// logged: a guest without emulation still runs its own architecture. Returns the registered names.
pub fn register_all() -> Vec<String> {
    let register = Path::new(BINFMT_DIR).join("register");
    if !register.exists() {
        if let Err(e) = crate::sys::mount("binfmt_misc", BINFMT_DIR, "binfmt_misc", 0, "") {
            log!("binfmt: cannot mount binfmt_misc: {e}; foreign-architecture images will not run");
            return Vec::new();
        }
    }
    let mut files: Vec<_> = match fs::read_dir(RULES_DIR) {
        Ok(dir) => dir.flatten().map(|e| e.path()).collect(),
        Err(_) => {
            log!("binfmt: no {RULES_DIR}: this image carries no emulators");
            return Vec::new();
        }
    };
    files.sort();
    let mut registered = Vec::new();
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
    {
        let text = fs::read_to_string(file).unwrap_or_default();
        for rule in text.lines().filter_map(parse) {
            if !Path::new(rule.interpreter).exists() {
                continue;
            }
            if Path::new(BINFMT_DIR).join(rule.name).exists() {
                registered.push(rule.name.to_string());
                continue;
            }
            match fs::write(&register, rule.line) {
                Ok(()) => registered.push(rule.name.to_string()),
                Err(e) => log!("binfmt: cannot register {}: {e}", rule.name),
            }
        }
    }
    log!(
        "binfmt: emulating {}",
        if registered.is_empty() {
            "nothing".into()
        } else {
            registered.join(" ")
        }
    );
    registered
}

#[cfg(test)]
mod tests {
    use super::*;

    const AARCH64: &str = r":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF";

    #[test]
    fn debians_rule_gives_its_name_and_emulator() {
        let text = format!("{AARCH64}\n");
        let rule = parse(&text).unwrap();
        assert_eq!(rule.name, "qemu-aarch64");
        assert_eq!(rule.interpreter, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
        assert_eq!(rule.line, AARCH64);
    }

    #[test]
    fn any_first_character_is_the_separator() {
        let rule = parse("|py|E||py||/usr/bin/python3|").unwrap();
        assert_eq!((rule.name, rule.interpreter), ("py", "/usr/bin/python3"));
    }

    #[test]
    fn comments_blank_and_malformed_lines_are_skipped() {
        for line in [
            "",
            "   ",
            "# a comment",
            "; another",
            ":short:M:",
            ":x:Q::ab::/bin/x:",
            "::M::ab::/bin/x:",
        ] {
            assert_eq!(parse(line), None, "{line:?}");
        }
    }
}
