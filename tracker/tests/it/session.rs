//! Signing in from a browser: with `--token-file`, the `/login` form trades the token for
//! the `SameSite=Strict` cookie (the form's own type passes the browser guard), and that
//! cookie is what the page's buttons send: state changes and content paths need it, reads
//! of the pages do not.

use swarm_service::token::Token;

use crate::support::*;

const TOKEN: &str = "session-test-token-0123456789";

/// The sign-in form as a browser on the page itself posts it.
fn sign_in(server: &TestServer, token: &str) -> Response {
    let origin = server.url();
    let body = format!("token={token}&next=%2Ffleet");
    request(
        server.addr,
        "POST",
        "/api/session",
        &[
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

#[test]
fn the_login_form_gives_a_cookie_that_works_the_buttons_and_shows_paths() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.token = Some(Token::new(TOKEN).unwrap());
    let server = TestServer::start(config);
    let origin = server.url();

    // Reading needs nothing; the pages say how to sign in.
    let login = server.get("/login?next=/fleet");
    assert_eq!(login.status, 200);
    assert!(
        login.text().contains("value=\"/fleet\""),
        "{}",
        login.text()
    );
    let page = server.get("/fleet");
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("href=\"/login\">sign in"),
        "{}",
        page.text()
    );

    assert_eq!(sign_in(&server, "wrong-token-wrong-token").status, 401);
    let signed = sign_in(&server, TOKEN);
    assert_eq!(signed.status, 303, "{}", signed.text());
    assert_eq!(signed.header("location"), Some("/fleet"));
    let set_cookie = signed.header("set-cookie").unwrap().to_string();
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    // A button's call (the page's own origin, JSON) without and with the cookie.
    let body = br#"{"path": "nothing-here"}"#;
    let call = |cookie: Option<&str>| {
        let mut headers = vec![
            ("Origin", origin.as_str()),
            ("Content-Type", "application/json"),
        ];
        if let Some(cookie) = cookie {
            headers.push(("Cookie", cookie));
        }
        request(server.addr, "POST", "/api/torrents", &headers, body)
    };
    assert_eq!(call(None).status, 401);
    let with_cookie = call(Some(&cookie));
    assert_ne!(with_cookie.status, 401, "{}", with_cookie.text());

    // The cookie shows content paths and the fleet page knows the browser signed in.
    server.upload_as("/api/torrents", "session.img", &[7u8; 50_000], &cookie);
    let anonymous = server.json("/api/torrents");
    assert!(anonymous[0]["path"].is_null(), "{anonymous}");
    let listed = request(
        server.addr,
        "GET",
        "/api/torrents",
        &[("Cookie", &cookie)],
        &[],
    );
    assert!(listed.json()[0]["path"].is_string(), "{}", listed.text());
    let page = request(server.addr, "GET", "/fleet", &[("Cookie", &cookie)], &[]);
    assert!(page.text().contains("signed in with the fleet token"));
}
