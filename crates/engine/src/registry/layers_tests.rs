//! The analysis over tars built here: additions, changes, whiteouts, opaque directories, wasted bytes.

use berth_fixtures::registry::{file, gzip, layer_tar, Entry};

use super::*;

fn step(by: &str, empty: bool) -> HistoryEntry {
    HistoryEntry {
        created_by: Some(by.into()),
        empty_layer: empty,
        ..Default::default()
    }
}

fn input(data: Vec<u8>) -> LayerInput<io::Cursor<Vec<u8>>> {
    LayerInput {
        digest: None,
        compressed_size: Some(data.len() as u64),
        reader: io::Cursor::new(data),
    }
}

fn dir(p: &str) -> Entry {
    Entry::Dir(p.into())
}

fn change<'a>(l: &'a LayerInfo, path: &str) -> &'a FileChange {
    l.files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not in {:?}", l.files))
}

/// Three layers: a base, one that changes and deletes, one (a plain tar) with an opaque directory.
fn image() -> (Vec<HistoryEntry>, Vec<Vec<u8>>) {
    let base = layer_tar(&[
        dir("etc"),
        file("etc/a.conf", 100, b'a'),
        dir("app"),
        file("app/big.bin", 1000, b'b'),
        file("app/keep.txt", 10, b'k'),
        dir("cache"),
        file("cache/x", 300, b'x'),
        file("cache/y", 200, b'y'),
        Entry::Symlink("bin".into(), "usr/bin".into()),
    ]);
    let second = layer_tar(&[
        file("etc/a.conf", 150, b'A'),
        Entry::Whiteout("app/big.bin".into()),
        file("app/new.txt", 5, b'n'),
    ]);
    let third = layer_tar(&[
        dir("etc"),
        file("cache/z", 7, b'z'),
        Entry::Opaque("cache".into()),
    ]);
    let history = vec![
        step("/bin/sh -c #(nop) ADD file:abc in / ", false),
        step("/bin/sh -c #(nop)  ENV A=1", true),
        step("/bin/sh -c echo hi", false),
        step("COPY . /app # buildkit", false),
    ];
    (history, vec![gzip(&base), gzip(&second), third])
}

#[test]
fn each_layer_lists_what_it_adds_changes_and_deletes() {
    let (history, layers) = image();
    let sizes: Vec<u64> = layers.iter().map(|l| l.len() as u64).collect();
    let r = analyze("t:1", "linux/amd64", &history, layers.into_iter().map(input)).unwrap();
    assert_eq!(r.layers.len(), 3);

    let [l0, l1, l2] = &r.layers[..] else {
        unreachable!()
    };
    assert_eq!(l0.instruction.as_deref(), Some("ADD file:abc in /"));
    assert_eq!(
        l1.instruction.as_deref(),
        Some("RUN echo hi"),
        "the empty ENV step is skipped"
    );
    assert_eq!(l2.instruction.as_deref(), Some("COPY . /app"));
    assert_eq!(l1.created_by.as_deref(), Some("/bin/sh -c echo hi"));

    assert!(l0.files.iter().all(|f| f.change == Change::Added));
    assert_eq!(change(l0, "bin").kind, EntryKind::Symlink);
    assert_eq!(change(l0, "bin").link.as_deref(), Some("usr/bin"));
    assert_eq!(change(l0, "app").kind, EntryKind::Dir);
    assert_eq!(l0.size, 1610);

    let a = change(l1, "etc/a.conf");
    assert_eq!((a.change, a.size), (Change::Changed, 150));
    let d = change(l1, "app/big.bin");
    assert_eq!(
        (d.change, d.kind, d.size),
        (Change::Deleted, EntryKind::File, 1000)
    );
    assert_eq!(change(l1, "app/new.txt").change, Change::Added);
    assert_eq!((l1.size, l1.wasted), (155, 1100));

    let o = change(l2, "cache");
    assert_eq!((o.change, o.size), (Change::Opaque, 500));
    assert_eq!(
        change(l2, "cache/z").change,
        Change::Added,
        "the layer's own files survive its opaque marker"
    );
    assert_eq!(change(l2, "etc").change, Change::Changed);
    assert_eq!((l2.size, l2.wasted), (7, 500));

    assert_eq!(r.size, 1610 + 155 + 7);
    assert_eq!(r.wasted, 1600);
    assert_eq!(r.compressed_size, Some(sizes.iter().sum()));
    let wasted: Vec<(&str, u64)> = r
        .wasted_paths
        .iter()
        .map(|w| (w.path.as_str(), w.bytes))
        .collect();
    assert_eq!(
        wasted,
        [
            ("app/big.bin", 1000),
            ("cache/x", 300),
            ("cache/y", 200),
            ("etc/a.conf", 100)
        ]
    );
    // The uncompressed tar length is counted to the end, padding included.
    assert!(r.layers.iter().all(|l| l.tar_size > 0 && l.tar_size % 512 == 0));
    assert_eq!(r.platform, "linux/amd64");
}

#[test]
fn a_whiteout_on_a_directory_deletes_everything_below_it() {
    let (history, mut layers) = image();
    layers.push(gzip(&layer_tar(&[Entry::Whiteout("app".into())])));
    let r = analyze("t", "linux/amd64", &history, layers.into_iter().map(input)).unwrap();
    let l3 = &r.layers[3];
    let d = change(l3, "app");
    assert_eq!((d.change, d.kind, d.size), (Change::Deleted, EntryKind::Dir, 15));
    assert_eq!(l3.instruction, None, "no history step left for this layer");
    assert_eq!(r.wasted, 1615);
}

#[test]
fn overwriting_twice_wastes_each_lower_copy_once() {
    let layers = vec![
        layer_tar(&[file("f", 10, b'1')]),
        layer_tar(&[file("f", 20, b'2')]),
        layer_tar(&[file("f", 30, b'3')]),
        layer_tar(&[Entry::Whiteout("f".into()), Entry::Whiteout("never-there".into())]),
    ];
    let r = analyze("t", "linux/amd64", &[], layers.into_iter().map(input)).unwrap();
    assert_eq!(
        r.layers.iter().map(|l| l.wasted).collect::<Vec<_>>(),
        [0, 10, 20, 30]
    );
    assert_eq!(
        r.wasted_paths,
        vec![WastedPath {
            path: "f".into(),
            bytes: 60
        }]
    );
    assert_eq!(change(&r.layers[3], "never-there").size, 0);
}

#[test]
fn a_file_replacing_a_directory_hides_its_contents() {
    let layers = vec![
        layer_tar(&[dir("d"), file("d/one", 4, b'1'), file("d/two", 6, b'2')]),
        layer_tar(&[file("d", 3, b'f')]),
    ];
    let r = analyze("t", "linux/amd64", &[], layers.into_iter().map(input)).unwrap();
    assert_eq!(change(&r.layers[1], "d").change, Change::Changed);
    assert_eq!(r.wasted, 10);
}

#[test]
fn unreadable_layers_are_errors_not_panics() {
    let zstd = vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0];
    let e = analyze("t", "p", &[], [input(zstd)]).unwrap_err();
    assert!(e.to_string().contains("zstd"), "{e}");
    let mut bad_gzip = gzip(&layer_tar(&[file("f", 2000, b'x')]));
    bad_gzip.truncate(30);
    assert!(analyze("t", "p", &[], [input(bad_gzip)]).is_err());
    let garbage = vec![7u8; 1024];
    assert!(analyze("t", "p", &[], [input(garbage)]).is_err());
    // An empty stream is an empty layer.
    let r = analyze("t", "p", &[], [input(Vec::new())]).unwrap();
    assert!(r.layers[0].files.is_empty());
}
