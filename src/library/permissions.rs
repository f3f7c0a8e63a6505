//! Who may do what. Pure rules over an `Actor` (an admin with their memberships), shared by
//! every front end so the CLI and the console can never disagree.
//!
//! - Operators run the installation: create accounts and admins, change plans, read every audit row.
//! - Owners of an account add admins to it, grant or revoke Dropbox-upload delegation, link
//!   Dropbox, and read the account's audit rows.
//! - Admins an owner delegated may link Dropbox for that account.
//! - Every admin of an account (and operators) may see and organise its files.

use crate::library::error::{LibraryError, Result};
use crate::library::model::{Account, AccountId, Admin, Membership, Role};

#[derive(Clone, Debug)]
pub struct Actor {
    pub admin: Admin,
    pub memberships: Vec<Membership>,
}

/// A right to check. Account-scoped rights carry the account for the message.
#[derive(Clone, Copy, Debug)]
pub enum Right<'a> {
    ManageAccounts,
    ManageAdmins,
    AddAdminTo(&'a Account),
    Delegate(&'a Account),
    LinkDropbox(&'a Account),
    /// Send files to the account's Dropbox and share them: the same people as linking.
    SendToDropbox(&'a Account),
    ViewAccount(&'a Account),
    Organise(&'a Account),
    ViewAudit(&'a Account),
    /// Check the library, bring back blobs it did not know, back it up: operators.
    Maintain,
    /// Stop the import engine that runs (for every account): operators.
    StopEngine,
    /// Turn the account's notifications off or on: its owners.
    NotifySettings(&'a Account),
    /// See where the account's files were taken (their GPS position): its owners, operators.
    ViewLocation(&'a Account),
    /// Move the account's files to the trash, restore them, undo an import: its owners and
    /// admins.
    Trash(&'a Account),
    /// Delete the account's trashed files for good (`trash empty`): its owners, operators.
    Purge(&'a Account),
}

impl Actor {
    pub fn role_in(&self, account: AccountId) -> Option<Role> {
        self.memberships
            .iter()
            .find(|m| m.account == account)
            .map(|m| m.role)
    }

    pub fn is_delegated(&self, account: AccountId) -> bool {
        self.memberships
            .iter()
            .any(|m| m.account == account && m.delegated)
    }

    pub fn is_operator(&self) -> bool {
        self.admin.is_operator
    }

    /// Accounts this actor may see: `None` = all (operators).
    pub fn visible_accounts(&self) -> Option<Vec<AccountId>> {
        if self.is_operator() {
            None
        } else {
            Some(self.memberships.iter().map(|m| m.account).collect())
        }
    }

    pub fn may(&self, right: Right<'_>) -> bool {
        let operator = self.is_operator();
        match right {
            Right::ManageAccounts | Right::ManageAdmins | Right::Maintain | Right::StopEngine => {
                operator
            }
            Right::AddAdminTo(a)
            | Right::ViewAudit(a)
            | Right::ViewLocation(a)
            | Right::Purge(a) => operator || self.role_in(a.id) == Some(Role::Owner),
            Right::Delegate(a) | Right::NotifySettings(a) => {
                self.role_in(a.id) == Some(Role::Owner)
            }
            Right::LinkDropbox(a) | Right::SendToDropbox(a) => {
                self.role_in(a.id) == Some(Role::Owner) || self.is_delegated(a.id)
            }
            Right::ViewAccount(a) | Right::Organise(a) => operator || self.role_in(a.id).is_some(),
            Right::Trash(a) => self.role_in(a.id).is_some(),
        }
    }

    /// `Ok` if allowed, else a denial that names the missing right.
    pub fn check(&self, right: Right<'_>) -> Result<()> {
        if self.may(right) {
            return Ok(());
        }
        let who = &self.admin.email;
        let why = match right {
            Right::ManageAccounts => {
                format!("{who} is not an operator; only operators create accounts or change plans")
            }
            Right::Maintain => format!(
                "{who} is not an operator; only operators check, repair and back up the library"
            ),
            Right::StopEngine => format!(
                "{who} is not an operator; only operators stop the import engine (it imports for every account)"
            ),
            Right::ManageAdmins => format!(
                "{who} is not an operator; only operators create operators or admins without an account"
            ),
            Right::AddAdminTo(a) => format!(
                "{who} is not an owner of {:?}; only its owners (or an operator) add admins to it",
                a.name
            ),
            Right::Delegate(a) => format!(
                "{who} is not an owner of {:?}; only its owners grant or revoke Dropbox-upload delegation",
                a.name
            ),
            Right::NotifySettings(a) => format!(
                "{who} is not an owner of {:?}; only its owners turn its notifications off or on",
                a.name
            ),
            Right::LinkDropbox(a) => format!(
                "{who} may not link Dropbox to {:?}: only its owners and the admins an owner \
                 delegated may (an owner can run: smartimage delegate {who} --account {:?})",
                a.name, a.name
            ),
            Right::SendToDropbox(a) => format!(
                "{who} may not send files to or share from the Dropbox of {:?}: only its owners and \
                 the admins an owner delegated may (an owner can run: smartimage delegate {who} \
                 --account {:?})",
                a.name, a.name
            ),
            Right::ViewAccount(a) | Right::Organise(a) => {
                format!("{who} is not an admin of {:?}", a.name)
            }
            Right::ViewAudit(a) => format!(
                "{who} is not an owner of {:?}; only its owners (or an operator) read its audit trail",
                a.name
            ),
            Right::ViewLocation(a) => format!(
                "{who} is not an owner of {:?}; only its owners (or an operator) see where its files were taken",
                a.name
            ),
            Right::Trash(a) => format!(
                "{who} is not an owner or admin of {:?}; only they move its files to the trash, \
                 restore them or undo its imports",
                a.name
            ),
            Right::Purge(a) => format!(
                "{who} is not an owner of {:?}; only its owners (or an operator) delete its \
                 trashed files for good",
                a.name
            ),
        };
        Err(LibraryError::PermissionDenied(why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::ids::AdminId;

    fn account(id: AccountId) -> Account {
        Account {
            id,
            name: format!("Account {id}"),
            plan: "team".into(),
            created_at: 0,
        }
    }

    fn actor(operator: bool, roles: &[(AccountId, Role, bool)]) -> Actor {
        Actor {
            admin: Admin {
                id: AdminId(7),
                email: "ann@example.com".into(),
                name: "Ann".into(),
                os_user: None,
                is_operator: operator,
            },
            memberships: roles
                .iter()
                .map(|&(account, role, delegated)| Membership {
                    account,
                    account_name: format!("Account {account}"),
                    admin: AdminId(7),
                    admin_email: "ann@example.com".into(),
                    role,
                    delegated,
                })
                .collect(),
        }
    }

    #[test]
    fn only_operators_manage_accounts_and_admins() {
        assert!(actor(true, &[]).may(Right::ManageAccounts));
        assert!(actor(true, &[]).may(Right::ManageAdmins));
        let owner = actor(false, &[(AccountId(1), Role::Owner, false)]);
        assert!(!owner.may(Right::ManageAccounts));
        assert!(!owner.may(Right::ManageAdmins));
    }

    #[test]
    fn owners_link_and_delegate_their_own_account_only() {
        let owner = actor(false, &[(AccountId(1), Role::Owner, false)]);
        assert!(owner.may(Right::LinkDropbox(&account(AccountId(1)))));
        assert!(owner.may(Right::Delegate(&account(AccountId(1)))));
        assert!(!owner.may(Right::LinkDropbox(&account(AccountId(2)))));
        assert!(!owner.may(Right::Delegate(&account(AccountId(2)))));
    }

    #[test]
    fn plain_admins_may_not_link_until_delegated() {
        let plain = actor(false, &[(AccountId(1), Role::Admin, false)]);
        assert!(!plain.may(Right::LinkDropbox(&account(AccountId(1)))));
        assert!(plain.may(Right::Organise(&account(AccountId(1)))));
        let delegated = actor(false, &[(AccountId(1), Role::Admin, true)]);
        assert!(delegated.may(Right::LinkDropbox(&account(AccountId(1)))));
        assert!(
            !delegated.may(Right::Delegate(&account(AccountId(1)))),
            "a delegate cannot delegate further"
        );
    }

    #[test]
    fn operators_do_not_link_or_delegate_without_ownership() {
        let op = actor(true, &[]);
        assert!(!op.may(Right::LinkDropbox(&account(AccountId(1)))));
        assert!(!op.may(Right::Delegate(&account(AccountId(1)))));
        assert!(op.may(Right::ViewAccount(&account(AccountId(1)))));
    }

    #[test]
    fn members_trash_and_restore_owners_and_operators_purge() {
        let owner = actor(false, &[(AccountId(1), Role::Owner, false)]);
        let plain = actor(false, &[(AccountId(1), Role::Admin, false)]);
        let op = actor(true, &[]);
        assert!(
            owner.may(Right::Trash(&account(AccountId(1))))
                && owner.may(Right::Purge(&account(AccountId(1))))
        );
        assert!(
            plain.may(Right::Trash(&account(AccountId(1))))
                && !plain.may(Right::Purge(&account(AccountId(1))))
        );
        assert!(
            !op.may(Right::Trash(&account(AccountId(1))))
                && op.may(Right::Purge(&account(AccountId(1))))
        );
        assert!(
            !owner.may(Right::Trash(&account(AccountId(2))))
                && !owner.may(Right::Purge(&account(AccountId(2))))
        );
    }

    #[test]
    fn denial_names_the_missing_right() {
        let plain = actor(false, &[(AccountId(1), Role::Admin, false)]);
        let err = plain
            .check(Right::LinkDropbox(&account(AccountId(1))))
            .unwrap_err();
        assert!(matches!(err, LibraryError::PermissionDenied(_)));
        let text = err.to_string();
        assert!(
            text.contains("may not link Dropbox") && text.contains("delegate"),
            "{text}"
        );
    }
}
