//! The asset server behind `auroraview://localhost/` (RELIABILITY.md case 22): MIME types,
//! `index.html` by default, and no file outside the root, however the path is spelled.

use std::path::PathBuf;

use _core::assets::{safe_relative, AssetSource};

fn fixture() -> (tempdir::Dir, AssetSource) {
    let dir = tempdir::Dir::new();
    let root = dir.path.join("site");
    std::fs::create_dir_all(root.join("js")).unwrap();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(root.join("js/app.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("style.css"), "body{}").unwrap();
    std::fs::write(root.join("data.json"), "{}").unwrap();
    std::fs::write(root.join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    std::fs::write(root.join("sub/index.html"), "<p>sub</p>").unwrap();
    std::fs::write(dir.path.join("secret.txt"), "top secret").unwrap();
    std::os::unix::fs::symlink(dir.path.join("secret.txt"), root.join("link.txt")).unwrap();
    let source = AssetSource::folder(&root).unwrap();
    (dir, source)
}

#[test]
fn serves_files_with_their_mime_type() {
    let (_dir, site) = fixture();
    for (path, mime, body) in [
        ("/", "text/html; charset=utf-8", "<h1>home</h1>"),
        ("/index.html", "text/html; charset=utf-8", "<h1>home</h1>"),
        ("/sub/", "text/html; charset=utf-8", "<p>sub</p>"),
        ("/js/app.js", "text/javascript; charset=utf-8", "console.log(1)"),
        ("/style.css", "text/css; charset=utf-8", "body{}"),
        ("/data.json", "application/json; charset=utf-8", "{}"),
        ("/js/app.js?v=3#x", "text/javascript; charset=utf-8", "console.log(1)"),
        ("/%6A%73/app.js", "text/javascript; charset=utf-8", "console.log(1)"),
    ] {
        let r = site.serve(path);
        assert_eq!((r.status, r.mime.as_str(), &*r.body), (200, mime, body.as_bytes()), "{path}");
    }
    assert_eq!(site.serve("/logo.png").mime, "image/png");
    assert_eq!(site.serve("/nope.html").status, 404);
}

#[test]
fn never_reads_outside_the_root() {
    let (_dir, site) = fixture();
    for path in [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/js/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/%252e%252e/secret.txt",
        "/..%5csecret.txt",
        "/%00index.html",
        "/link.txt",
        "//etc/passwd",
        "/\\..\\secret.txt",
    ] {
        let r = site.serve(path);
        assert!(r.status == 403 || r.status == 404, "{path}: {}", r.status);
        assert!(!String::from_utf8_lossy(&r.body).contains("secret"), "{path}");
        assert!(!String::from_utf8_lossy(&r.body).contains("root:"), "{path}");
    }
}

#[test]
fn relative_paths_are_plain() {
    assert_eq!(safe_relative("/a/./b.js"), Some(PathBuf::from("a/b.js")));
    assert_eq!(safe_relative("/"), Some(PathBuf::new()));
    assert_eq!(safe_relative("/a/../b"), None);
    assert_eq!(safe_relative("/%ff"), None);
}

#[test]
fn inline_html_is_the_only_page() {
    let page = AssetSource::Html("<p>inline</p>".into());
    assert_eq!(&*page.serve("/").body, b"<p>inline</p>");
    assert_eq!(page.serve("/other.js").status, 404);
    assert_eq!(page.serve("/../etc/passwd").status, 403);
}

#[test]
fn a_navigation_to_a_route_gets_the_index_and_missing_files_stay_404() {
    let (_dir, source) = fixture();
    // (path, navigation, status, body): an SPA's deep link; never a missing file's.
    #[rustfmt::skip]
    let cases: &[(&str, bool, u16, &[u8])] = &[
        ("/settings/profile", true, 200, b"<h1>home</h1>"),
        ("/settings/profile?tab=2#x", true, 200, b"<h1>home</h1>"),
        ("/settings/profile", false, 404, b"not found"),        // fetch() of a route: no page
        ("/js/missing.js", true, 404, b"not found"),            // has an extension
        ("/img/logo.v2.png", true, 404, b"not found"),
        ("/js/app.js", true, 200, b"console.log(1)"),          // there: served as it is
        ("/sub", true, 200, b"<p>sub</p>"),                     // a folder's own index
        ("/../secret", true, 403, b"forbidden path"),          // refused, not rerouted
    ];
    for (path, navigation, status, body) in cases {
        let got = source.serve_page(path, *navigation);
        assert_eq!((got.status, &*got.body), (*status, *body), "{path} navigation={navigation}");
    }
    // Without an index.html there is nothing to fall back to.
    let bare = tempdir::Dir::new();
    let plain = AssetSource::folder(&bare.path).unwrap();
    assert_eq!(plain.serve_page("/route", true).status, 404);
}

#[test]
fn navigations_are_told_by_fetch_metadata_or_by_asking_for_html() {
    use _core::assets::is_navigation;
    #[rustfmt::skip]
    let cases: &[(Option<&str>, Option<&str>, bool)] = &[
        (Some("navigate"), None, true),
        (Some("NAVIGATE"), Some("*/*"), true),
        (Some("cors"), Some("text/html"), false),                 // a fetch() asking for HTML
        (Some("no-cors"), None, false),                           // a script or an image
        (None, Some("text/html,application/xhtml+xml,*/*;q=0.8"), true),
        (None, Some("*/*"), false),
        (None, Some("image/avif,image/webp,*/*"), false),
        (None, None, false),
    ];
    for (mode, accept, want) in cases {
        assert_eq!(is_navigation(*mode, *accept), *want, "{mode:?} {accept:?}");
    }
}

/// A temporary folder removed on drop (no extra crate needed for one test file).
mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "auroraview-assets-{}-{}",
                std::process::id(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir { path }
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
