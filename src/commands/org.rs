//! `bioshadock org …`: organisations from the command line (the administrator's tool: no
//! `access.org_creation` applies). Like `user`, these open only the accounts database and work
//! while `serve` runs; the organisation's rules are core's, as on the web.

use anyhow::{Result, anyhow};
use bioshadock_core::PortError;
use bioshadock_core::accounts::UserName;
use bioshadock_core::config::Config;
use bioshadock_core::orgs::{OrgName, Organisation};

use crate::cli::OrgCommand;

pub async fn run(config: Config, command: OrgCommand) -> Result<()> {
    let accounts = super::accounts(&config).await?;
    let result = match command {
        OrgCommand::Add {
            name,
            owner,
            description,
        } => {
            let name = OrgName::parse(&name).map_err(|e| anyhow!("organisation name: {e}"))?;
            let owner = UserName::parse(&owner).map_err(|e| anyhow!("--owner: {e}"))?;
            add(&accounts, name, owner, description).await
        }
        OrgCommand::List => list(&accounts).await,
    };
    accounts.close().await;
    result
}

async fn add(
    accounts: &bioshadock_backends::Accounts,
    name: OrgName,
    owner: UserName,
    description: String,
) -> Result<()> {
    match accounts.users.get_user(&owner).await {
        Ok(_) => {}
        Err(PortError::NotFound) => {
            return Err(anyhow!(
                "no user `{owner}` to own it (see `bioshadock user list`)"
            ));
        }
        Err(e) => return Err(anyhow!(e).context("cannot read the accounts database")),
    }
    let org = Organisation::new(name, description, owner).map_err(|e| anyhow!("{e}"))?;
    accounts.orgs.create_org(&org).await.map_err(|e| match e {
        PortError::Conflict(_) => anyhow!(
            "the name `{}` is taken by a user or an organisation",
            org.name
        ),
        other => anyhow!(other).context("cannot create the organisation"),
    })?;
    println!(
        "created organisation \"{}\" owned by \"{}\"",
        org.name, org.members[0].user
    );
    Ok(())
}

async fn list(accounts: &bioshadock_backends::Accounts) -> Result<()> {
    let orgs = accounts.orgs.list_orgs().await?;
    let width = orgs
        .iter()
        .map(|o| o.name.as_str().len())
        .chain(["NAME".len()])
        .max()
        .unwrap_or_default();
    let mut out = format!("{:width$}  MEMBERS  TEAMS  OWNERS\n", "NAME");
    for org in &orgs {
        let owners: Vec<&str> = org
            .members
            .iter()
            .filter(|m| m.role == bioshadock_core::orgs::OrgRole::Owner)
            .map(|m| m.user.as_str())
            .collect();
        out.push_str(&format!(
            "{:width$}  {:<7}  {:<5}  {}\n",
            org.name.as_str(),
            org.members.len(),
            org.teams.len(),
            owners.join(", "),
        ));
    }
    print!("{out}");
    Ok(())
}
