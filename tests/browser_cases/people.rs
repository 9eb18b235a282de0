//! People administration on the page.

use crate::*;

/// People on the page: an admin adds a person (#/people), resets their password after a
/// confirmation (the new one shown once, not again when the view is opened again), and the
/// person logs in with it in the browser and changes their own password (#/password, a wrong
/// current one refused first; their session goes on); the admin disables them after a
/// confirmation and their login is refused. The store and the audit log agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_adds_resets_and_disables_a_person_who_changes_their_own_password_in_chromium() {
    const PERSON: &str = "pat-browser";
    const FIRST: &str = "pat's first password";
    const CHOSEN: &str = "pat chose this one";
    let shots = screenshots_dir("people");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "person": { "user": PERSON, "role": "escort", "password": FIRST },
        "new_password": CHOSEN,
    });
    let mut browser = BrowserScript::start("people.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("people.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];

    let open = &steps["open"];
    assert_eq!(open["nav"].as_array().unwrap().last().unwrap(), "People", "{open}");
    assert_eq!(open["hash"], "#/people");
    assert!(open["names"].as_array().unwrap().iter().any(|n| n == ADMIN_USER), "{open}");
    let added = &steps["add"];
    assert_eq!(
        (added["role"].as_str(), added["state"].as_str(), added["last_login"].as_str()),
        (Some("escort"), Some("Enabled"), Some("never")),
        "{added}"
    );

    let reset = &steps["reset"];
    assert!(reset["question"].as_str().unwrap().contains(PERSON), "asked first: {reset}");
    let shown = reset["password"].as_str().unwrap();
    assert_eq!(shown.len(), 24, "{reset}");
    assert!(reset["once"].as_str().unwrap().contains("Shown once"), "{reset}");
    assert_eq!(steps["shown_only_once"]["passwords_shown"], 0);
    assert_eq!(steps["log_in_as_them"]["who"], format!("{PERSON} (escort)"));
    assert_eq!(steps["log_in_as_them"]["nav"], json!(["Live map", "Alert history"]));

    let wrong = &steps["wrong_current_password"];
    assert_eq!(
        (wrong["hash"].as_str(), wrong["message"].as_str()),
        (Some("#/password"), Some("Your current password is wrong."))
    );
    let changed = &steps["change_own_password"];
    assert!(changed["message"].as_str().unwrap().starts_with("Your password is changed"), "{changed}");
    assert_eq!(
        (changed["hash"].as_str(), changed["still_logged_in"].as_bool()),
        (Some("#/live"), Some(true))
    );

    let disabled = &steps["disable"];
    assert!(disabled["question"].as_str().unwrap().starts_with(&format!("Disable {PERSON}?")), "{disabled}");
    assert_eq!(disabled["enable_buttons"], 1, "{disabled}");
    let refused = &steps["disabled_login_refused"];
    assert_eq!(
        (refused["message"].as_str(), refused["still_on_login"].as_bool()),
        (Some("Wrong user name or password."), Some(true))
    );

    // What the page did is what the store holds: the chosen password is theirs (not the first
    // nor the reset one), and they are disabled.
    let store = &server.store;
    assert!(convoy_registry::password_is_right(store, PERSON, CHOSEN).await.unwrap());
    for old in [FIRST, shown] {
        assert!(!convoy_registry::password_is_right(store, PERSON, old).await.unwrap(), "{old} still works");
    }
    assert!(store.user(PERSON).await.unwrap().unwrap().disabled);
    let entries =
        store.audit_entries(&convoy_store::AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.target == PERSON)
        .map(|e| (e.action.as_str(), e.actor.as_deref().unwrap_or("")))
        .collect();
    for wanted in [
        ("user.add", ADMIN_USER),
        ("user.reset_password", ADMIN_USER),
        ("me.password", PERSON),
        ("user.disable", ADMIN_USER),
    ] {
        assert!(actions.contains(&wanted), "{wanted:?} in {actions:?}");
    }
    server.stop().await;
}
