//! People for tests that set a library up: admins and their roles, added as the operator adds
//! them (so permissions and audit rows are the real ones).

use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;

/// One admin: email, the accounts it owns, the accounts it is a plain admin of.
pub type Person<'a> = (&'a str, &'a [&'a str], &'a [&'a str]);

/// Add each of `people` as `operator`.
pub fn add_admins(lib: &mut Library, operator: &str, people: &[Person]) {
    let op = lib.actor(Some(operator), None).unwrap();
    let names = |accounts: &[&str]| accounts.iter().map(|a| a.to_string()).collect();
    for (email, owner_of, admin_of) in people {
        let grant = AdminGrant {
            email: (*email).into(),
            owner_of: names(owner_of),
            admin_of: names(admin_of),
            ..AdminGrant::default()
        };
        lib.add_admin(&op, &grant).unwrap();
    }
}
