//! `dropbox-emulator`: serves the Dropbox API v2 emulator (`smartimage::dropbox::emulator`) on
//! plain HTTP, or HTTPS with `--tls-cert`/`--tls-key`. The first stdout line is
//! `listening on http://HOST:PORT` (or `https://…`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use smartimage::dropbox::emulator::{
    AccountConfig, AuthCodeConfig, Emulator, EmulatorConfig, FaultConfig, TlsConfig,
};

const ACCOUNT_ID_PREFIX: &str = "dbid:";

#[derive(Debug, Parser)]
#[command(about = "Dropbox API v2 emulator for tests and benchmarks")]
struct Args {
    /// Directory holding one app folder per account (`<root>/<account_id>/…`).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// PEM certificate chain (leaf first): serve HTTPS instead of HTTP.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for `--tls-cert`.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// TOML or JSON config (`.json`); flags below add to it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// `ID:EMAIL:NAME`; ID may carry its `dbid:` prefix. Repeatable.
    #[arg(long = "account", value_name = "ID:EMAIL:NAME")]
    accounts: Vec<String>,
    /// `ACCOUNT_ID=TOKEN`: a long-lived access token. Repeatable.
    #[arg(long = "token", value_name = "ACCOUNT_ID=TOKEN")]
    tokens: Vec<String>,
    /// `ACCOUNT_ID=TOKEN`: a refresh token. Repeatable.
    #[arg(long = "refresh-token", value_name = "ACCOUNT_ID=TOKEN")]
    refresh_tokens: Vec<String>,
    /// `ACCOUNT_ID=CODE`: an authorization code (no PKCE). Repeatable.
    #[arg(long = "code", value_name = "ACCOUNT_ID=CODE")]
    codes: Vec<String>,
    /// Lifetime of issued access tokens.
    #[arg(long)]
    token_ttl: Option<u64>,
    /// Multiplies longpoll waits (0.001: 30 s become 30 ms).
    #[arg(long)]
    longpoll_time_scale: Option<f64>,
    /// Add Dropbox's random 0–90 s to longpoll waits.
    #[arg(long)]
    longpoll_jitter: bool,
    /// Accept raw UTF-8 in Dropbox-API-Arg.
    #[arg(long)]
    allow_raw_utf8_arg: bool,
    /// Look at the disk only on list calls, longpolls and POST /__emulator/rescan (for
    /// benchmarks with many files).
    #[arg(long)]
    rescan_on_list_only: bool,
    /// Every Nth write call fails with 409 too_many_write_operations.
    #[arg(long)]
    write_contention_every: Option<u64>,
    /// Milliseconds added to every API call.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Every Nth API call answers 429.
    #[arg(long)]
    rate_limit_every: Option<u64>,
    #[arg(long)]
    retry_after: Option<u64>,
    /// 429 bodies as plain text.
    #[arg(long)]
    rate_limit_plain_text: bool,
    /// Every Nth API call answers 500.
    #[arg(long)]
    server_error_every: Option<u64>,
    /// Every Nth download breaks the connection mid-body.
    #[arg(long)]
    drop_download_every: Option<u64>,
    /// Every Nth download ends early without Content-Length.
    #[arg(long)]
    truncate_download_every: Option<u64>,
    /// Every Nth download announces a wrong content_hash.
    #[arg(long)]
    wrong_content_hash_every: Option<u64>,
    /// During every Nth download the file is saved again (new rev).
    #[arg(long)]
    change_during_download_every: Option<u64>,
}

fn account_id(raw: &str) -> String {
    if raw.starts_with(ACCOUNT_ID_PREFIX) {
        raw.to_owned()
    } else {
        format!("{ACCOUNT_ID_PREFIX}{raw}")
    }
}

fn parse_account(spec: &str) -> anyhow::Result<AccountConfig> {
    let rest = spec.strip_prefix(ACCOUNT_ID_PREFIX).unwrap_or(spec);
    let mut parts = rest.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(email), Some(name)) if !id.is_empty() => {
            Ok(AccountConfig::new(&account_id(id), email, name))
        }
        _ => bail!("--account wants ID:EMAIL:NAME, got {spec:?}"),
    }
}

fn split_pair<'a>(flag: &str, spec: &'a str) -> anyhow::Result<(String, &'a str)> {
    let (account, value) = spec
        .split_once('=')
        .with_context(|| format!("{flag} wants ACCOUNT_ID=VALUE, got {spec:?}"))?;
    Ok((account_id(account), value))
}

fn account_mut<'a>(
    config: &'a mut EmulatorConfig,
    id: &str,
) -> anyhow::Result<&'a mut AccountConfig> {
    config
        .accounts
        .iter_mut()
        .find(|account| account.account_id == id)
        .with_context(|| format!("no account {id:?}; add it with --account"))
}

fn build_config(args: Args) -> anyhow::Result<EmulatorConfig> {
    let mut config = match (&args.config, &args.root) {
        (Some(path), _) => EmulatorConfig::load(path)?,
        (None, Some(root)) => EmulatorConfig::new(root),
        (None, None) => bail!("give --root DIR or --config FILE"),
    };
    if let (Some(_), Some(root)) = (&args.config, &args.root) {
        config.root = root.clone();
    }
    for spec in &args.accounts {
        config.accounts.push(parse_account(spec)?);
    }
    for spec in &args.tokens {
        let (id, token) = split_pair("--token", spec)?;
        account_mut(&mut config, &id)?
            .access_tokens
            .push(token.to_owned());
    }
    for spec in &args.refresh_tokens {
        let (id, token) = split_pair("--refresh-token", spec)?;
        account_mut(&mut config, &id)?
            .refresh_tokens
            .push(token.to_owned());
    }
    for spec in &args.codes {
        let (id, code) = split_pair("--code", spec)?;
        account_mut(&mut config, &id)?;
        config.codes.push(AuthCodeConfig {
            code: code.to_owned(),
            account_id: id,
            code_challenge: None,
        });
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(TlsConfig {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if let Some(ttl) = args.token_ttl {
        config.token_ttl_secs = ttl;
    }
    if let Some(scale) = args.longpoll_time_scale {
        config.longpoll_time_scale = scale;
    }
    config.longpoll_jitter |= args.longpoll_jitter;
    config.allow_raw_utf8_arg |= args.allow_raw_utf8_arg;
    config.rescan_on_every_call &= !args.rescan_on_list_only;
    let faults: &mut FaultConfig = &mut config.faults;
    if let Some(latency) = args.latency_ms {
        faults.latency_ms = latency;
    }
    faults.rate_limit_every = args.rate_limit_every.or(faults.rate_limit_every);
    if let Some(retry_after) = args.retry_after {
        faults.rate_limit_retry_after_secs = retry_after;
    }
    faults.rate_limit_plain_text |= args.rate_limit_plain_text;
    faults.server_error_every = args.server_error_every.or(faults.server_error_every);
    faults.write_contention_every = args
        .write_contention_every
        .or(faults.write_contention_every);
    faults.drop_download_every = args.drop_download_every.or(faults.drop_download_every);
    faults.truncate_download_every = args
        .truncate_download_every
        .or(faults.truncate_download_every);
    faults.change_during_download_every = args
        .change_during_download_every
        .or(faults.change_during_download_every);
    faults.wrong_content_hash_every = args
        .wrong_content_hash_every
        .or(faults.wrong_content_hash_every);
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listen = args.listen;
    let config = build_config(args)?;
    for account in config.accounts.iter().filter(|a| !a.has_sdk_valid_id()) {
        eprintln!(
            "warning: account id {:?} is not {} characters long; official SDKs will refuse it",
            account.account_id,
            smartimage::dropbox::emulator::config::ACCOUNT_ID_LEN
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let (base_url, handle) = Emulator::serve(config, listener).await?;
    println!("listening on {base_url}");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    handle
        .shutdown()
        .await
        .context("cannot save the emulator index")?;
    Ok(())
}
