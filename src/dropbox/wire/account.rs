//! `users/get_current_account` and the OAuth token endpoint.
//! `FullAccount` has every field users.stone requires, so the Python SDK accepts what the
//! emulator sends.

use serde::{Deserialize, Serialize};

/// users.stone `FullAccount` (extends `Account`). `account_id` is the stable key of a link;
/// `email` is for display only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullAccount {
    pub account_id: String,
    pub name: Name,
    pub email: String,
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_photo_url: Option<String>,
    pub disabled: bool,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub locale: String,
    pub referral_link: String,
    /// Only `id` and `name` of users.stone `FullTeam`. Its required `sharing_policies` etc. are
    /// not modelled, so the emulator must leave `team` out for strict clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    pub is_paired: bool,
    pub account_type: AccountType,
    pub root_info: RootInfo,
}

/// users.stone `Name`: all five parts are required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    pub given_name: String,
    pub surname: String,
    pub familiar_name: String,
    pub display_name: String,
    pub abbreviated_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

/// users_common.stone `AccountType`, a closed union.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum AccountType {
    Basic,
    Pro,
    Business,
}

/// common.stone `RootInfo`, a struct with enumerated subtypes declared as the parent, so it
/// carries `.tag`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum RootInfo {
    /// Not in a team, or in a team without a separate root namespace.
    User {
        root_namespace_id: String,
        home_namespace_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        home_path: Option<String>,
    },
    Team {
        root_namespace_id: String,
        home_namespace_id: String,
        home_path: String,
    },
}

/// `POST /oauth2/token` success. A refresh answer has no `refresh_token`: keep the old one
///. `expires_in` is seconds; never assume its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Space-separated granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// The 400 body of the token endpoint, OAuth style rather than Stone. `invalid_grant`
/// means the link must be authorized again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Fields users.stone declares without `?` on `FullAccount` and its parent `Account`.
    const REQUIRED_ACCOUNT_FIELDS: [&str; 10] = [
        "account_id",
        "name",
        "email",
        "email_verified",
        "disabled",
        "locale",
        "referral_link",
        "is_paired",
        "account_type",
        "root_info",
    ];

    fn stone_example() -> serde_json::Value {
        // users.stone `FullAccount` example "unpaired", with `root_info = default` spelled out.
        json!({
            "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
            "name": {
                "given_name": "Franz", "surname": "Ferdinand", "familiar_name": "Franz",
                "display_name": "Franz Ferdinand (Personal)", "abbreviated_name": "FF"
            },
            "email": "franz@gmail.com",
            "email_verified": false,
            "country": "US",
            "locale": "en",
            "referral_link": "https://db.tt/ZITNuhtI",
            "is_paired": false,
            "account_type": {".tag": "basic"},
            "profile_photo_url": "https://dl-web.dropbox.com/account_photo/get/x",
            "disabled": false,
            "root_info": {
                ".tag": "user", "root_namespace_id": "3235641", "home_namespace_id": "3235641"
            }
        })
    }

    #[test]
    fn parses_and_reproduces_the_stone_example() {
        let account: FullAccount = serde_json::from_value(stone_example()).unwrap();
        assert_eq!(account.name.display_name, "Franz Ferdinand (Personal)");
        assert_eq!(account.account_type, AccountType::Basic);
        assert_eq!(serde_json::to_value(&account).unwrap(), stone_example());
    }

    #[test]
    fn minimal_account_emits_every_required_field() {
        let mut account: FullAccount = serde_json::from_value(stone_example()).unwrap();
        account.country = None;
        account.profile_photo_url = None;
        let value = serde_json::to_value(&account).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = REQUIRED_ACCOUNT_FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let name = value["name"].as_object().unwrap();
        assert_eq!(name.len(), 5, "all five Name parts are required");
    }

    #[test]
    fn team_root_info_and_team_fields_parse() {
        let mut value = stone_example();
        value["account_type"] = json!({".tag": "business"});
        value["root_info"] = json!({
            ".tag": "team", "root_namespace_id": "1", "home_namespace_id": "2", "home_path": "/Franz"
        });
        value["team"] = json!({"id": "dbtid:x", "name": "Acme, Inc.", "sharing_policies": {}});
        value["team_member_id"] = json!("dbmid:y");
        let account: FullAccount = serde_json::from_value(value).unwrap();
        assert_eq!(account.team.unwrap().name, "Acme, Inc.");
        assert_eq!(
            account.root_info,
            RootInfo::Team {
                root_namespace_id: "1".into(),
                home_namespace_id: "2".into(),
                home_path: "/Franz".into()
            }
        );
    }

    #[test]
    fn code_exchange_response_parses() {
        let token: TokenResponse = serde_json::from_value(json!({
            "access_token": "sl.abc", "token_type": "bearer", "expires_in": 14400,
            "refresh_token": "r1", "scope": "account_info.read files.content.read",
            "uid": "12345", "account_id": "dbid:AAH"
        }))
        .unwrap();
        assert_eq!(token.refresh_token.as_deref(), Some("r1"));
        assert_eq!(token.account_id.as_deref(), Some("dbid:AAH"));
    }

    #[test]
    fn oauth_error_parses_with_and_without_description() {
        let error: OAuthError = serde_json::from_value(
            json!({"error": "invalid_grant", "error_description": "code doesn't exist or has expired"}),
        )
        .unwrap();
        assert_eq!(error.error, "invalid_grant");
        let bare: OAuthError = serde_json::from_value(json!({"error": "invalid_grant"})).unwrap();
        assert_eq!(bare.error_description, None);
    }
}
