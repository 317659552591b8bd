//! `inspect`: a container's settings against the known-good spec for its Talos version.

use super::write_doc;
use crate::cli::InspectArgs;
use crate::docker::client::{connect, runtime};
use crate::docker::facts::find_container;
use crate::docker::preflight::inspect;
use crate::error::Error;
use crate::{config, exit};

/// Runs `inspect`: exit 1 when a deviation breaks the boot, 0 otherwise, 2 on Docker errors.
pub(crate) fn run(args: &InspectArgs, env: &config::Env) -> Result<u8, Error> {
    super::check_container_arg("the container name", &args.container)?;
    super::check_outputs(&args.out, &[])?;
    let facts = runtime()?.block_on(async {
        let docker = connect().await?;
        find_container(&docker, &args.container).await.map_err(Error::from)
    })?;
    let insp = inspect(&facts);
    if let Err(e) = write_doc(crate::render::Doc::Inspection(&insp), &args.out, env, |_| Ok(())) {
        super::warn_before_error(&e, &insp.report, None);
        return Err(e);
    }
    Ok(exit::code_for_inspect(&insp.report))
}
