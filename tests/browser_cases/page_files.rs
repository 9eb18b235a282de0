//! The page's files, served from the binary with a strict policy.

use crate::*;

/// The page comes from the binary itself, with the right types and a policy that allows no
/// inline script and no other origin than the configured tile server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_served_from_the_binary_with_a_strict_policy() {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.web.tile_url = Some("https://{s}.tiles.example.org/{z}/{x}/{y}.png".into());
    })
    .await;
    let get = |path: &str| reqwest::get(server.url(path));

    let page = get("/").await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |response: &reqwest::Response, name: &str| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    };
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let policy = header(&page, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
        "img-src 'self' data: blob: https://*.tiles.example.org;",
        // Its own origin only: 'self' covers the live feed's ws:/wss: to the same host (CSP
        // Level 3), as the live map's tests in Chromium show.
        "connect-src 'self';",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = page.text().await.unwrap();
    let scripts: Vec<&str> =
        html.match_indices("<script").map(|(i, _)| &html[i..i + html[i..].find('>').unwrap()]).collect();
    assert_eq!(scripts.len(), 2, "{html}");
    assert!(scripts.iter().all(|s| s.contains(" src=\"/assets/")), "no inline script: {scripts:?}");

    for (path, content_type, starts) in [
        ("/assets/js/main.js", "text/javascript; charset=utf-8", &b"//"[..]),
        ("/assets/css/app.css", "text/css; charset=utf-8", b"/*"),
        ("/assets/vendor/leaflet/leaflet.js", "text/javascript; charset=utf-8", b"/*"),
        ("/assets/vendor/leaflet/images/marker-icon.png", "image/png", b"\x89PNG"),
        ("/assets/vendor/leaflet/LICENSE", "text/plain; charset=utf-8", b"BSD 2-Clause"),
    ] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
        assert!(response.bytes().await.unwrap().starts_with(starts), "{path}");
    }
    for path in ["/assets/js/nothing.js", "/assets/../Cargo.toml", "/assets/%2e%2e/src/main.rs", "/assets/"] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "{path}");
    }
    server.stop().await;
}
