//! Base images of this portal's registry, pulled as the build's requester and pinned.

use bioshadock_core::PortError;
use bioshadock_core::RepoName;
use bioshadock_core::permissions::{Actor, Principal};
use bioshadock_core::tokens::{RequestedScope, grant};

use super::{Failure, Pipeline, say};
use crate::base_images::{pin, portal_images, split_reference};
use crate::log_sink::LogSender;

impl Pipeline {
    /// `dockerfile` with every `FROM`/`COPY --from=` image of the portal's registry replaced
    /// by the digest pulled for it with a token minted for `requester`, holding the pull
    /// grant core's rules give them (`args`, the build arguments, count as the engine will
    /// count them). An image they may not pull fails the build, whatever
    /// copies the shared engine holds.
    pub(super) async fn pin_base_images(
        &self,
        dockerfile: &str,
        args: &std::collections::BTreeMap<String, String>,
        requester: &Actor,
        log: &LogSender,
    ) -> Result<String, Failure> {
        let hosts = &self.settings.registry_hosts;
        let images = portal_images(dockerfile, hosts, args)
            .map_err(|why| Failure(format!("the Dockerfile {why}")))?;
        if images.is_empty() {
            return Ok(dockerfile.to_owned());
        }
        let principal = Principal::User(requester.clone());
        let mut pinned = Vec::new();
        for image in &images {
            let reference = &image.reference;
            let lower = reference.to_ascii_lowercase();
            let host = hosts
                .iter()
                .find(|h| lower.starts_with(&format!("{h}/")))
                .expect("portal_images only returns references to these hosts");
            let (path, tag_or_digest) = split_reference(reference, host);
            let refused = || Failure(format!("{} may not pull {reference}", requester.user.name));
            let repo = RepoName::parse(path).map_err(|_| refused())?;
            let container = match self.containers.get(&repo).await {
                Ok(container) => Some(container),
                Err(PortError::NotFound) => None,
                Err(e) => {
                    return Err(Failure(format!(
                        "cannot check who may pull {reference}: {e}"
                    )));
                }
            };
            let scope =
                RequestedScope::parse(&format!("repository:{repo}:pull")).map_err(|_| refused())?;
            let Some(access) = grant(&principal, &scope, container.as_ref()) else {
                return Err(refused());
            };
            let token = self
                .tokens
                .mint_for(
                    requester.user.name.as_str(),
                    vec![access],
                    self.settings.timeout,
                )
                .map_err(|e| Failure(format!("cannot sign a registry token for the pull: {e}")))?;
            say(
                log,
                format!("pulling {reference} as {}", requester.user.name),
            )
            .await;
            let repository = format!("{}/{}", &reference[..host.len()], path);
            let exact = self
                .engine
                .pull_pinned(&repository, tag_or_digest, &token.token, log)
                .await
                .map_err(|e| {
                    Failure(format!(
                        "{} may not pull {reference}: {e}",
                        requester.user.name
                    ))
                })?;
            pinned.push(exact);
        }
        Ok(pin(dockerfile, &images, &pinned))
    }
}
