//! Finding scenario files: each path given is a file, or a directory whose
//! `*.toml` files are taken recursively, in sorted path order. Paths are
//! kept as given (relative stays relative) so replay commands can be copied.
//! Duplicates are dropped; a path that does not exist is an error.

use std::path::{Path, PathBuf};

/// The scenario files under `paths`, in order: arguments in the order given,
/// files within a directory sorted.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            if found.is_empty() {
                return Err(format!(
                    "{}: no scenario files (*.toml) in this directory",
                    p.display()
                ));
            }
            for f in found {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        } else if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if ty.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_directories_sorted_and_keeps_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("b/c")).unwrap();
        for f in ["z.toml", "a.toml", "b/c/x.toml", "b/y.toml", "notes.md"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let got = scenario_files(&[d.to_path_buf(), d.join("a.toml")]).unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, vec!["a.toml", "b/c/x.toml", "b/y.toml", "z.toml"]);
    }

    #[test]
    fn missing_paths_and_empty_directories_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(scenario_files(&[dir.path().join("nope")])
            .unwrap_err()
            .contains("nope"));
        assert!(scenario_files(&[dir.path().to_path_buf()])
            .unwrap_err()
            .contains("no scenario files"));
    }
}
