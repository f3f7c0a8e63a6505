//! Shared links (`sharing/create_shared_link_with_settings`, `sharing/list_shared_links`): one
//! link per file or folder, kept by the entry's id so it follows renames. Creating a link
//! where one exists is `shared_link_already_exists` carrying the existing link's metadata, as
//! Dropbox answers; the metadata is always built from the entry as it is now.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;

use super::http::{json_ok, route_error, rpc_arg};
use super::paths;
use super::routes::authorize;
use super::state::{Entry, Store};
use super::{Freshness, Shared};
use crate::dropbox::wire::sharing::{
    SHARED_LINK_FILE_TAG, SHARED_LINK_FOLDER_TAG, SharedLinkAlreadyExistsMetadata, Tag,
};
use crate::dropbox::wire::{
    CreateSharedLinkWithSettingsArg, CreateSharedLinkWithSettingsError, LinkPermissions,
    ListSharedLinksArg, ListSharedLinksError, ListSharedLinksResult, LookupError,
    SharedLinkMetadata, timestamp,
};

const LINK_HOST: &str = "https://www.dropbox.com";
const LINK_KEY_PREFIX: &str = "";

/// Link URLs by (account, entry id).
pub type SharedLinks = HashMap<(String, String), String>;

/// A public, view-only link, as the team defaults of a Basic account give.
fn default_permissions() -> LinkPermissions {
    LinkPermissions {
        resolved_visibility: Some(Tag::new("public")),
        requested_visibility: Some(Tag::new("public")),
        can_revoke: true,
        visibility_policies: Vec::new(),
        can_set_expiry: false,
        can_remove_expiry: false,
        allow_download: true,
        can_allow_download: true,
        can_disallow_download: false,
        allow_comments: true,
        team_restricts_comments: false,
        effective_audience: Some(Tag::new("public")),
        link_access_level: Some(Tag::new("viewer")),
    }
}

/// Percent-encodes a name for the link's last path segment.
fn url_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn link_metadata(url: &str, lower: &str, entry: &Entry) -> SharedLinkMetadata {
    let mut link = SharedLinkMetadata {
        tag: SHARED_LINK_FOLDER_TAG.to_owned(),
        url: url.to_owned(),
        name: entry.name().to_owned(),
        link_permissions: default_permissions(),
        id: Some(entry.id.clone()),
        path_lower: Some(lower.to_owned()),
        expires: None,
        client_modified: None,
        server_modified: None,
        rev: None,
        size: None,
    };
    if let Some(file) = &entry.file {
        link.tag = SHARED_LINK_FILE_TAG.to_owned();
        link.client_modified = Some(timestamp::format(
            file.client_modified.unwrap_or(file.modified),
        ));
        link.server_modified = Some(timestamp::format(file.modified));
        link.rev = Some(file.rev.clone());
        link.size = Some(file.size);
    }
    link
}

impl Store {
    fn entry_key(&mut self, account_id: &str, raw: &str) -> Result<(String, Entry), LookupError> {
        let target = paths::parse_target(raw).map_err(|reason| LookupError::MalformedPath {
            malformed_path: Some(reason),
        })?;
        let (namespace, _) = self.namespace(account_id);
        let lower = namespace.lookup(&target)?;
        let entry = namespace.entries[&lower].clone();
        Ok((lower, entry))
    }

    pub fn create_shared_link(
        &mut self,
        account_id: &str,
        arg: &CreateSharedLinkWithSettingsArg,
    ) -> Result<SharedLinkMetadata, CreateSharedLinkWithSettingsError> {
        let (lower, entry) = self
            .entry_key(account_id, &arg.path)
            .map_err(|path| CreateSharedLinkWithSettingsError::Path { path })?;
        let key = (account_id.to_owned(), entry.id.clone());
        if let Some(url) = self.shared_links.get(&key) {
            return Err(CreateSharedLinkWithSettingsError::SharedLinkAlreadyExists {
                shared_link_already_exists: Some(SharedLinkAlreadyExistsMetadata::Metadata {
                    metadata: Box::new(link_metadata(url, &lower, &entry)),
                }),
            });
        }
        let kind = if entry.is_folder() { "fo" } else { "fi" };
        let url = format!(
            "{LINK_HOST}/scl/{kind}/{}/{}?rlkey={}&dl=0",
            self.ids.opaque(LINK_KEY_PREFIX),
            url_segment(entry.name()),
            self.ids.opaque(LINK_KEY_PREFIX),
        );
        self.shared_links.insert(key, url.clone());
        Ok(link_metadata(&url, &lower, &entry))
    }

    /// Links of the account; with `path`, those to it (and, unless `direct_only`, to the
    /// folders above it). Entries that are gone take their links with them.
    pub fn list_shared_links(
        &mut self,
        account_id: &str,
        arg: &ListSharedLinksArg,
    ) -> Result<ListSharedLinksResult, ListSharedLinksError> {
        let wanted: Option<Vec<String>> = match &arg.path {
            None => None,
            Some(raw) => {
                let (lower, _) = self
                    .entry_key(account_id, raw)
                    .map_err(|path| ListSharedLinksError::Path { path })?;
                let mut keys = vec![lower.clone()];
                if !arg.direct_only.unwrap_or(false) {
                    let mut parent = lower.as_str();
                    while let Some((above, _)) = parent.rsplit_once('/') {
                        if above.is_empty() {
                            break;
                        }
                        keys.push(above.to_owned());
                        parent = above;
                    }
                }
                Some(keys)
            }
        };
        let namespace = self
            .namespaces
            .get(account_id)
            .ok_or(ListSharedLinksError::Other)?;
        let mut links: Vec<SharedLinkMetadata> = namespace
            .entries
            .iter()
            .filter(|(lower, _)| wanted.as_ref().is_none_or(|keys| keys.contains(lower)))
            .filter_map(|(lower, entry)| {
                let url = self
                    .shared_links
                    .get(&(account_id.to_owned(), entry.id.clone()))?;
                Some(link_metadata(url, lower, entry))
            })
            .collect();
        links.sort_by(|a, b| a.path_lower.cmp(&b.path_lower));
        Ok(ListSharedLinksResult {
            links,
            has_more: false,
            cursor: None,
        })
    }
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/2/sharing/create_shared_link_with_settings",
            post(create_shared_link),
        )
        .route("/2/sharing/list_shared_links", post(list_shared_links))
}

async fn create_shared_link(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "sharing/create_shared_link_with_settings";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: CreateSharedLinkWithSettingsArg = rpc_arg(ROUTE, &headers, &body)?;
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.create_shared_link(account, &arg)
        })
        .await?
        .map(|link| json_ok(&link))
        .map_err(route_error)
}

async fn list_shared_links(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    const ROUTE: &str = "sharing/list_shared_links";
    let account = authorize(&shared, ROUTE, &headers)?;
    let arg: ListSharedLinksArg = rpc_arg(ROUTE, &headers, &body)?;
    shared
        .with_account(account, Freshness::IfConfigured, move |store, account| {
            store.list_shared_links(account, &arg)
        })
        .await?
        .map(|links| json_ok(&links))
        .map_err(route_error)
}
