//! docs/durable.md names source items as links, [`name`](../src/durable/file.rs): each must
//! be defined in that file, so the guide's pointers into the code cannot go stale.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable")]

use std::path::Path;

#[test]
fn every_item_the_guide_links_to_is_defined_in_its_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/durable.md")).unwrap();
    let mut checked = 0;
    for link in guide.split("[`").skip(1) {
        let Some((name, rest)) = link.split_once("`](") else {
            continue;
        };
        let Some((target, _)) = rest.split_once(')') else {
            continue;
        };
        let Some(file) = target.strip_prefix("../") else {
            continue;
        };
        let source = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|_| panic!("{file} is missing"));
        let defined = ["fn", "struct", "enum", "const", "type", "trait"]
            .iter()
            .any(|kind| {
                source.contains(&format!("{kind} {name}("))
                    || source.contains(&format!("{kind} {name}<"))
                    || source.contains(&format!("{kind} {name} "))
                    || source.contains(&format!("{kind} {name}:"))
            });
        assert!(
            defined,
            "docs/durable.md links `{name}` to {file}, which does not define it"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} links found");
}
