//! `berth search`, `berth tags`, `berth catalog`: Docker Hub and registries, without a running machine.

use berth_engine::registry::{Hub, ImageRef, Registry, RegistryAddr, RegistryOptions};

use crate::table::{self, bytes, count, cut};
use crate::CmdResult;

/// How to reach a registry.
#[derive(clap::Args, Clone, Default)]
pub struct RegistryArgs {
    /// Use plain HTTP (registries on 127.0.0.1 and localhost always do).
    #[arg(long)]
    pub insecure: bool,
    /// User name for the registry.
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    /// Password for the registry.
    #[arg(
        long,
        env = "BERTH_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "username"
    )]
    pub password: Option<String>,
}

impl RegistryArgs {
    /// How to reach `registry`: the credentials given, else those `berth login` stored (none when no
    /// keyring answers).
    pub async fn options(&self, registry: &str) -> RegistryOptions {
        let given = self.username.clone().zip(self.password.clone());
        let credentials = match given {
            Some(c) => Some(c),
            None => berth_engine::credentials_for(registry)
                .await
                .ok()
                .flatten()
                .map(|c| (c.username, c.secret)),
        };
        RegistryOptions {
            insecure: self.insecure,
            credentials,
        }
    }
}

#[derive(clap::Args)]
pub struct SearchArgs {
    /// What to look for.
    term: String,
    /// At most this many results (1–100).
    #[arg(long, default_value_t = 25)]
    limit: u32,
    /// Which page of results, from 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    page: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct TagsArgs {
    /// A Docker Hub repository (`nginx`, `bitnami/redis`) or one on a registry (`127.0.0.1:5000/app`).
    repository: String,
    /// At most this many tags from Docker Hub (1–100).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Which page of Docker Hub's tags, from 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    page: u32,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CatalogArgs {
    /// The registry: host[:port] (`127.0.0.1:5000`), `http://` in front for plain HTTP.
    registry_addr: String,
    /// At most this many repositories.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn search(a: SearchArgs) -> CmdResult {
    let hub = Hub::from_env()?;
    let page = hub.search_page(&a.term, a.limit, a.page).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    if page.results.is_empty() {
        eprintln!("Nothing on Docker Hub matches {:?}.", a.term);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = page
        .results
        .iter()
        .map(|r| {
            let badge = if r.official {
                "official"
            } else if r.verified_publisher {
                "verified"
            } else {
                ""
            };
            vec![
                r.name.clone(),
                count(r.stars),
                count(r.pulls),
                badge.into(),
                cut(&r.description, 60),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["NAME", "STARS", "PULLS", "BADGE", "DESCRIPTION"],
            &rows,
            &[1, 2]
        )
    );
    if let Some(next) = page.next_page {
        eprintln!(
            "{} of {} results; more with --page {next}.",
            page.results.len(),
            page.total
        );
    }
    Ok(())
}

pub async fn tags(a: TagsArgs) -> CmdResult {
    let repo = ImageRef::parse(&a.repository)?;
    if repo.is_docker_hub() {
        let page = Hub::from_env()?.tags_page(&a.repository, a.limit, a.page).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&page)?);
            return Ok(());
        }
        let rows: Vec<Vec<String>> = page
            .tags
            .iter()
            .map(|t| {
                let platforms: Vec<String> = t
                    .images
                    .iter()
                    .map(|i| match &i.variant {
                        Some(v) => format!("{}/{}/{v}", i.os, i.architecture),
                        None => format!("{}/{}", i.os, i.architecture),
                    })
                    .collect();
                let updated = t.last_updated.as_deref().unwrap_or("").chars().take(10).collect();
                vec![t.name.clone(), bytes(t.size), updated, platforms.join(", ")]
            })
            .collect();
        print!(
            "{}",
            table::render(&["TAG", "SIZE", "UPDATED", "PLATFORMS"], &rows, &[1])
        );
        if let Some(next) = page.next_page {
            eprintln!(
                "{} of {} tags; more with --page {next}.",
                page.tags.len(),
                page.total
            );
        }
        return Ok(());
    }
    let tags = Registry::for_image(&repo, &a.registry.options(repo.registry()).await)
        .tags(&repo)
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&tags)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = tags.into_iter().map(|t| vec![t]).collect();
    print!("{}", table::render(&["TAG"], &rows, &[]));
    Ok(())
}

pub async fn catalog(a: CatalogArgs) -> CmdResult {
    let addr = RegistryAddr::parse(&a.registry_addr)?;
    if addr.host == "docker.io" || addr.host.ends_with(".docker.io") || addr.host == "hub.docker.com" {
        return Err(
            "Docker Hub does not list its catalog; find repositories with `berth search TERM`".into(),
        );
    }
    let mut opts = a.registry.options(&addr.host).await;
    opts.insecure |= addr.plain_http;
    let repos = Registry::new(&addr.host, &opts).catalog(a.limit).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&repos)?);
        return Ok(());
    }
    if repos.is_empty() {
        eprintln!("{} has no repositories.", addr.host);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = repos.into_iter().map(|r| vec![r]).collect();
    print!("{}", table::render(&["REPOSITORY"], &rows, &[]));
    Ok(())
}
