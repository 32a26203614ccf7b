//! Hub answers parsed from checked-in fixtures, error mapping, and the client against the fixture server
//! on 127.0.0.1.

use berth_fixtures::hub::{FixtureRepo, HubServer, SEARCH_JSON, TAGS_NGINX_JSON};

use super::*;

#[test]
fn search_results_parse_with_odd_entries() {
    let page = parse_search(SEARCH_JSON.as_bytes(), 1).unwrap();
    assert_eq!(page.total, 5);
    let names: Vec<&str> = page.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["nginx", "bitnami/nginx", "someone/nginx-proxy", "busybox"],
        "nameless entry skipped"
    );
    let nginx = &page.results[0];
    assert_eq!(nginx.namespace, "library");
    assert!(nginx.official && !nginx.verified_publisher && !nginx.automated);
    assert_eq!((nginx.stars, nginx.pulls), (20512, 1_000_000_000));
    assert_eq!(nginx.description, "Official build of Nginx.");
    let bitnami = &page.results[1];
    assert_eq!(bitnami.namespace, "bitnami");
    assert!(bitnami.verified_publisher && !bitnami.official);
    let proxy = &page.results[2];
    assert_eq!((proxy.stars, proxy.automated), (0, true), "null stars count as 0");
}

#[test]
fn tags_parse_with_platforms() {
    let page = parse_tags(TAGS_NGINX_JSON.as_bytes(), 1).unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.tags.len(), 2, "the nameless tag is skipped");
    let t = &page.tags[0];
    assert_eq!(t.name, "1.27-alpine");
    assert_eq!(t.size, 20_500_000);
    assert_eq!(t.last_updated.as_deref(), Some("2025-05-01T10:00:00.000000Z"));
    let platforms: Vec<(&str, Option<&str>)> = t
        .images
        .iter()
        .map(|i| (i.architecture.as_str(), i.variant.as_deref()))
        .collect();
    assert_eq!(
        platforms,
        [("amd64", None), ("arm", Some("v7")), ("arm64", Some("v8"))]
    );
    assert_eq!(t.images[2].digest, None);
    assert_eq!(page.tags[1].digest, None);
}

#[test]
fn answers_that_are_not_hub_json_are_refused() {
    assert!(parse_search(b"<html>", 1).unwrap_err().contains("not JSON"));
    assert!(parse_search(b"{\"count\":1}", 1)
        .unwrap_err()
        .contains("no `results`"));
    assert!(parse_tags(b"[]", 1).unwrap_err().contains("no `results`"));
}

#[test]
fn the_next_page_comes_from_hubs_next_link() {
    let page = |json: &str, at| parse_search(json.as_bytes(), at).unwrap().next_page;
    assert_eq!(page(r#"{"count":60,"next":null,"results":[]}"#, 3), None);
    assert_eq!(
        page(r#"{"count":60,"results":[]}"#, 1),
        None,
        "no link: the last page"
    );
    assert_eq!(
        page(
            r#"{"count":60,"next":"https://hub.docker.com/v2/search/repositories/?page=3&page_size=25&query=a","results":[]}"#,
            2
        ),
        Some(3)
    );
    assert_eq!(
        page(
            r#"{"count":60,"next":"https://hub.example/next","results":[]}"#,
            1
        ),
        Some(2),
        "a link without a page number: the one after"
    );
    let tags = parse_tags(
        br#"{"count":3,"next":"http://h/v2/namespaces/library/nginx/tags?page_size=1&page=2","results":[]}"#,
        1,
    )
    .unwrap();
    assert_eq!(tags.next_page, Some(2));
}

#[tokio::test]
async fn pages_of_search_results_and_tags_from_the_fake_hub() {
    let server = HubServer::bind_with(
        "127.0.0.1:0",
        vec![FixtureRepo {
            name: "host.docker.internal:5000/web".into(),
            description: "A web server on a local nginx-like registry".into(),
        }],
    )
    .unwrap();
    let hub = Hub::new(&server.url()).unwrap();

    let mut names = Vec::new();
    let mut page = Some(1);
    while let Some(p) = page {
        let got = hub.search_page("nginx", 2, p).await.unwrap();
        assert_eq!(got.total, 4, "every match is counted on every page");
        assert!(got.results.len() <= 2);
        names.extend(got.results.into_iter().map(|r| r.name));
        page = got.next_page;
    }
    assert_eq!(
        names,
        [
            "nginx",
            "bitnami/nginx",
            "someone/nginx-proxy",
            "host.docker.internal:5000/web"
        ],
        "two pages, in order, with the added repository last"
    );
    let err = hub.search_page("nginx", 2, 3).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::NotFound { .. }),
        "a page past the last: {err}"
    );
    assert_eq!(hub.search("nginx", 25).await.unwrap().next_page, None);

    let first = hub.tags_page("nginx", 1, 1).await.unwrap();
    assert_eq!(
        (first.tags[0].name.as_str(), first.next_page),
        ("1.27-alpine", Some(2))
    );
    let second = hub.tags_page("nginx", 1, 2).await.unwrap();
    assert_eq!(
        (second.tags[0].name.as_str(), second.next_page),
        ("latest", Some(3))
    );
    let third = hub.tags_page("nginx", 1, 3).await.unwrap();
    assert!(third.tags.is_empty(), "the nameless tag is skipped");
    assert_eq!((third.total, third.next_page), (3, None));
}

#[test]
fn http_statuses_map_to_actionable_errors() {
    let e = |status, ra, reset| http_error("Docker Hub", "repository x/y", status, ra, reset, b"busy");
    assert!(e(200, None, None).is_none());
    assert_eq!(
        e(404, None, None).unwrap().to_string(),
        "not found: repository x/y"
    );
    assert_eq!(
        e(429, Some("42"), None).unwrap().to_string(),
        "Docker Hub rate limited us, retry after 42 s"
    );
    assert!(matches!(
        e(401, None, None),
        Some(RegistryError::Unauthorized { .. })
    ));
    assert_eq!(
        e(503, None, None).unwrap().to_string(),
        "Docker Hub answered HTTP 503: busy"
    );
}

#[tokio::test]
async fn the_client_against_a_fake_hub_on_loopback() {
    let server = HubServer::start().unwrap();
    let hub = Hub::new(&server.url()).unwrap();

    let page = hub.search("nginx", 25).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.results[0].name, "nginx");
    let page = hub.search("nginx", 1).await.unwrap();
    assert_eq!((page.total, page.results.len()), (3, 1), "page_size is sent");
    let page = hub.search("busy box", 5).await.unwrap();
    assert_eq!(page.total, 0, "spaces are encoded, not split");

    let err = hub.search("ratelimited", 5).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Docker Hub at {} rate limited us, retry after 42 s", server.url())
    );
    let err = hub.search("broken", 5).await.unwrap_err();
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err}");

    let tags = hub.tags("nginx", 10).await.unwrap();
    assert_eq!(tags.tags[0].name, "1.27-alpine");
    let err = hub.tags("library/nosuch", 10).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "not found: repository library/nosuch on Docker Hub"
    );
    let RegistryError::RateLimited { retry_after, .. } = hub.tags("ratelimited", 10).await.unwrap_err()
    else {
        panic!("429 is a rate limit")
    };
    assert!(
        retry_after.is_some_and(|d| (28..=30).contains(&d.as_secs())),
        "from X-RateLimit-Reset: {retry_after:?}"
    );
    let err = hub.tags("127.0.0.1:5000/app", 10).await.unwrap_err();
    assert!(err.to_string().contains("not on Docker Hub"), "{err}");

    let url = server.url();
    drop(server);
    let err = Hub::new(&url).unwrap().search("nginx", 5).await.unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("check the address"), "{err}");
}

#[test]
fn hub_addresses_need_a_scheme() {
    assert!(Hub::new("hub.docker.com").is_err());
    assert_eq!(
        Hub::new("http://127.0.0.1:9/").unwrap().base_url(),
        "http://127.0.0.1:9"
    );
}
