//! What a front end produces: the compiled rules ([`Compiled`]) and the
//! access settings read apart from them ([`Access`]). A leaf module: the
//! front ends build these and `compile` finishes them, so neither side
//! imports the other.

use vane_resolver::model::Client;
use vane_resolver::Body;

use crate::diagnostic::{Diagnostic, Severity};

/// A compiled rule source, before encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// Tenant named by the source (Vane YAML `tenant:`); flagd files name none.
    pub tenant: Option<String>,
    /// The IR, flags sorted by key.
    pub body: Body,
    /// Warnings (never errors).
    pub warnings: Vec<Diagnostic>,
}

/// Who may read a tenant's flags, given apart from the rules: read by
/// [`crate::vane::access`] (`vane build --access FILE`) for flagd sources,
/// whose format has no place for client keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// The access file's name, for diagnostics.
    pub file: String,
    /// Tenant the access file is for, if it names one.
    pub tenant: Option<String>,
    /// Clients and the sha256 digests of their keys.
    pub clients: Vec<Client>,
    /// Allowed CORS origins (empty = any).
    pub cors_origins: Vec<String>,
}

impl Compiled {
    /// The gate of `vane check --strict` / `vane build --strict`: with any
    /// warning, every warning becomes an error (same place, same message) and
    /// the rules are refused.
    pub fn strict(self) -> Result<Compiled, Vec<Diagnostic>> {
        if self.warnings.is_empty() {
            return Ok(self);
        }
        Err(self
            .warnings
            .into_iter()
            .map(|mut d| {
                d.severity = Severity::Error;
                d
            })
            .collect())
    }

    /// Adds the clients and CORS origins of an access file. Errors when the
    /// rules already name clients or origins (they belong in one place) or
    /// when the two files name different tenants.
    pub fn with_access(mut self, access: Access) -> Result<Compiled, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        if !self.body.clients.is_empty() || !self.body.cors_origins.is_empty() {
            errors.push(Diagnostic::error(
                &access.file,
                "",
                "the rules already name clients or CORS origins; keep them in one place",
            ));
        }
        match (&self.tenant, &access.tenant) {
            (Some(a), Some(b)) if a != b => errors.push(Diagnostic::error(
                &access.file,
                "tenant",
                format!("the access file is for tenant '{b}' but the rules are for '{a}'"),
            )),
            (None, Some(b)) => self.tenant = Some(b.clone()),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.body.clients = access.clients;
        self.body.cors_origins = access.cors_origins;
        Ok(self)
    }
}
