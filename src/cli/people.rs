//! Verbs about people and accounts: init, account, admin, delegate, audit.

use clap::Subcommand;
use serde::Serialize;
use smartimage::library::actions::AdminGrant;
use smartimage::library::model::Role;

use super::notifying::Switch;
use super::output::{bytes, json, table, timestamp};
use super::{Context, Outcome, current_os_user};

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account (operators)
    Add {
        name: String,
        #[arg(long)]
        plan: String,
    },
    /// Accounts you may see, with usage against their plan
    List {
        #[arg(long)]
        json: bool,
    },
    /// Rename an account (operators); its Dropbox folder is renamed with it
    Rename { name: String, new_name: String },
    /// Move an account to another plan (operators)
    SetPlan {
        name: String,
        #[arg(long)]
        plan: String,
    },
    /// Turn the account's notifications (email and webhook) off or on (owners)
    Notify {
        name: String,
        #[arg(value_enum)]
        switch: Switch,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin, or give an existing one roles in accounts
    Add {
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Bind the admin to this OS user (so `--as` is not needed)
        #[arg(long, value_name = "USER")]
        os_user: Option<String>,
        /// Make the new admin an operator (operators only)
        #[arg(long)]
        operator: bool,
        /// Make them an owner of this account (repeatable)
        #[arg(long = "owner", value_name = "ACCOUNT")]
        owner_of: Vec<String>,
        /// Make them an admin of this account (repeatable)
        #[arg(long = "admin", value_name = "ACCOUNT")]
        admin_of: Vec<String>,
    },
    /// Admins you may see, with their roles
    List {
        #[arg(long)]
        json: bool,
    },
    /// Turn your own email notifications off or on (operators: anyone's)
    Notify {
        email: String,
        #[arg(value_enum)]
        switch: Switch,
    },
}

pub fn init(cx: &mut Context, email: &str, name: Option<&str>, os_user: Option<String>) -> Outcome {
    let os_user = os_user.or_else(current_os_user);
    let admin = cx.library.init(email, name, os_user.as_deref())?;
    println!(
        "Initialized the library in {}",
        cx.library.data_dir().display()
    );
    match &admin.os_user {
        Some(user) => println!("Operator: {} (bound to OS user {user})", admin.email),
        None => println!("Operator: {}", admin.email),
    }
    Ok(())
}

pub fn account(cx: &mut Context, command: AccountCommand) -> Outcome {
    let actor = cx.actor()?;
    match command {
        AccountCommand::Add { name, plan } => {
            let account = cx.library.add_account(&actor, &name, &plan)?;
            println!(
                "Created account {:?} on the {} plan (id {})",
                account.name, account.plan, account.id
            );
        }
        AccountCommand::Notify { name, switch } => {
            let on = switch == Switch::On;
            cx.library.set_account_notify(&actor, &name, on)?;
            println!(
                "Notifications of account {name:?} are {}",
                if on { "on" } else { "off" }
            );
        }
        AccountCommand::Rename { .. } => {
            unreachable!("renames go through cli::linking (they move Dropbox folders)")
        }
        AccountCommand::SetPlan { name, plan } => {
            let account = cx.library.set_plan(&actor, &name, &plan)?;
            println!(
                "Account {:?} is now on the {} plan",
                account.name, account.plan
            );
        }
        AccountCommand::List { json: as_json } => {
            let summaries = cx.library.account_summaries(&actor)?;
            if as_json {
                return json(&summaries);
            }
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|s| {
                    let video = if s.video_bytes_per_month == 0 {
                        "no video".to_owned()
                    } else {
                        format!(
                            "{} / {}",
                            bytes(s.video_used_bytes_this_month),
                            bytes(s.video_bytes_per_month)
                        )
                    };
                    vec![
                        s.account.name.clone(),
                        s.account.plan.clone(),
                        format!(
                            "{} / {}",
                            bytes(s.storage_used_bytes),
                            bytes(s.storage_limit_bytes)
                        ),
                        video,
                        s.owners.join(", "),
                        s.delegates.join(", "),
                        match &s.dropbox {
                            Some(d) => {
                                format!("{} {} ({})", d.state.as_str(), d.folder, d.dropbox_account)
                            }
                            None => "not linked".to_owned(),
                        },
                    ]
                })
                .collect();
            table(
                &[
                    "ACCOUNT",
                    "PLAN",
                    "STORAGE",
                    "VIDEO THIS MONTH",
                    "OWNERS",
                    "DELEGATES",
                    "DROPBOX",
                ],
                &rows,
            );
        }
    }
    Ok(())
}

pub fn admin(cx: &mut Context, command: AdminCommand) -> Outcome {
    let actor = cx.actor()?;
    match command {
        AdminCommand::Add {
            email,
            name,
            os_user,
            operator,
            owner_of,
            admin_of,
        } => {
            let grant = AdminGrant {
                email,
                name,
                os_user,
                operator,
                owner_of,
                admin_of,
            };
            let summary = cx.library.add_admin(&actor, &grant)?;
            let roles: Vec<String> = summary
                .memberships
                .iter()
                .map(|m| format!("{} of {:?}", m.role.as_str(), m.account_name))
                .collect();
            let kind = if summary.admin.is_operator {
                "operator"
            } else {
                "admin"
            };
            if roles.is_empty() {
                println!("{} is an {kind}", summary.admin.email);
            } else {
                println!("{} is an {kind}: {}", summary.admin.email, roles.join(", "));
            }
        }
        AdminCommand::List { json: as_json } => {
            let admins = cx.library.admin_summaries(&actor)?;
            if as_json {
                return json(&admins);
            }
            let rows: Vec<Vec<String>> = admins
                .iter()
                .map(|a| {
                    let roles: Vec<String> = a
                        .memberships
                        .iter()
                        .map(|m| {
                            let delegated = if m.delegated && m.role == Role::Admin {
                                " (delegated)"
                            } else {
                                ""
                            };
                            format!("{} of {}{delegated}", m.role.as_str(), m.account_name)
                        })
                        .collect();
                    vec![
                        a.admin.email.clone(),
                        a.admin.name.clone(),
                        if a.admin.is_operator {
                            "yes".into()
                        } else {
                            String::new()
                        },
                        a.admin.os_user.clone().unwrap_or_default(),
                        roles.join("; "),
                    ]
                })
                .collect();
            table(&["EMAIL", "NAME", "OPERATOR", "OS USER", "ROLES"], &rows);
        }
        AdminCommand::Notify { email, switch } => {
            let on = switch == Switch::On;
            cx.library.set_admin_email_notify(&actor, &email, on)?;
            println!(
                "Email notifications to {email} are {}",
                if on { "on" } else { "off" }
            );
        }
    }
    Ok(())
}

pub fn delegate(cx: &mut Context, email: &str, account: &str, revoke: bool) -> Outcome {
    let actor = cx.actor()?;
    let changed = cx.library.delegate(&actor, email, account, revoke)?;
    let message = match (revoke, changed) {
        (false, true) => format!("{email} may now link Dropbox for {account:?}"),
        (false, false) => format!("{email} was already delegated for {account:?}; nothing changed"),
        (true, true) => format!("{email} may no longer link Dropbox for {account:?}"),
        (true, false) => format!("{email} had no delegation for {account:?}; nothing changed"),
    };
    println!("{message}");
    Ok(())
}

#[derive(Serialize)]
struct AuditJson<'a> {
    id: i64,
    at: String,
    actor: &'a str,
    action: &'a str,
    account: Option<&'a str>,
    target: &'a str,
    detail: Option<&'a str>,
}

pub fn audit(cx: &mut Context, as_json: bool, limit: u32) -> Outcome {
    let actor = cx.actor()?;
    let entries = cx.library.audit(&actor, limit)?;
    let list: Vec<AuditJson<'_>> = entries
        .iter()
        .map(|e| AuditJson {
            id: e.id,
            at: timestamp(e.at),
            actor: &e.actor,
            action: &e.action,
            account: e.account.as_deref(),
            target: &e.target,
            detail: e.detail.as_deref(),
        })
        .collect();
    if as_json {
        return json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|e| {
            vec![
                e.at.clone(),
                e.actor.to_owned(),
                e.action.to_owned(),
                e.account.unwrap_or("").to_owned(),
                e.target.to_owned(),
                e.detail.unwrap_or("").to_owned(),
            ]
        })
        .collect();
    table(
        &["WHEN (UTC)", "WHO", "ACTION", "ACCOUNT", "TARGET", "DETAIL"],
        &rows,
    );
    Ok(())
}
