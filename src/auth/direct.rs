//! The direct login form's user source: local users with argon2id password hashes.
//!
//! Verification runs on the blocking pool (argon2 is slow on purpose), and an unknown login costs the
//! same as a wrong password, so response times do not reveal which logins exist.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher};

use crate::config::UserEntry;
use crate::identity::{Identity, MappedFields, Protocol};
use crate::space::SpaceId;

/// Why a direct login did not succeed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectLoginError {
    #[error("identifiant ou mot de passe incorrect")]
    BadCredentials,
    #[error("ce compte n'a pas accès à cet espace")]
    SpaceNotAllowed,
    #[error("vérification du mot de passe impossible")]
    Internal,
}

#[derive(Debug)]
struct LocalUser {
    login: String,
    password_hash: String,
    fields: MappedFields,
    /// Empty: every space.
    spaces: Vec<SpaceId>,
}

/// Local users, looked up case-insensitively by login.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    users: Arc<HashMap<String, LocalUser>>,
}

/// A hash to verify against when the login is unknown, so that both paths cost one argon2 run.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("leurre-pour-egaliser-les-temps").unwrap_or_default());

/// Hash a password with argon2id and a fresh salt, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(Argon2::default()
        .hash_password(password.as_bytes())?
        .to_string())
}

impl UserDirectory {
    pub fn new(entries: &[UserEntry]) -> Self {
        let users = entries
            .iter()
            .map(|entry| {
                let login = entry.login.get_ref().clone();
                let user = LocalUser {
                    login: login.clone(),
                    password_hash: entry.password_hash.0.clone(),
                    fields: MappedFields {
                        nom: entry.nom.clone(),
                        prenom: entry.prenom.clone(),
                        date_naissance: entry.date_naissance.clone(),
                        code_postal: entry.code_postal.clone(),
                        categories: entry.categories.clone(),
                        id_produit: entry.id_produit.clone(),
                    },
                    spaces: entry.spaces.iter().filter_map(|s| s.parse().ok()).collect(),
                };
                (login.to_lowercase(), user)
            })
            .collect();
        UserDirectory {
            users: Arc::new(users),
        }
    }

    /// Check a login and password for a space.
    pub async fn verify(
        &self,
        login: &str,
        password: &str,
        space: SpaceId,
    ) -> Result<Identity, DirectLoginError> {
        let users = Arc::clone(&self.users);
        let key = login.trim().to_lowercase();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let user = users.get(&key);
            let stored = user.map_or(DECOY_HASH.as_str(), |u| u.password_hash.as_str());
            let parsed = PasswordHash::new(stored).map_err(|_| DirectLoginError::Internal)?;
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            let user = user
                .filter(|_| matches)
                .ok_or(DirectLoginError::BadCredentials)?;
            if !user.spaces.is_empty() && !user.spaces.contains(&space) {
                return Err(DirectLoginError::SpaceNotAllowed);
            }
            Ok(Identity {
                login: user.login.clone(),
                protocol: Protocol::Direct,
                fields: user.fields.clone(),
            })
        })
        .await
        .map_err(|_| DirectLoginError::Internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> UserDirectory {
        let hash = hash_password("correct horse").unwrap();
        let text = format!(
            "[[user]]\nlogin = \"Claire.Martin\"\npassword_hash = \"{hash}\"\nnom = \"Martin\"\nspaces = [\"parent\"]\n"
        );
        #[derive(serde::Deserialize)]
        struct File {
            user: Vec<UserEntry>,
        }
        let file: File = toml::from_str(&text).unwrap();
        UserDirectory::new(&file.user)
    }

    #[tokio::test]
    async fn good_password_gives_the_identity_whatever_the_login_case() {
        let identity = directory()
            .verify("claire.martin", "correct horse", SpaceId::Parent)
            .await
            .unwrap();
        assert_eq!(identity.login, "Claire.Martin");
        assert_eq!(identity.fields.nom.as_deref(), Some("Martin"));
        assert_eq!(identity.protocol, Protocol::Direct);
    }

    #[tokio::test]
    async fn wrong_password_unknown_user_and_other_space_are_refused() {
        let users = directory();
        assert_eq!(
            users.verify("claire.martin", "nope", SpaceId::Parent).await,
            Err(DirectLoginError::BadCredentials)
        );
        assert_eq!(
            users
                .verify("inconnu", "correct horse", SpaceId::Parent)
                .await,
            Err(DirectLoginError::BadCredentials)
        );
        assert_eq!(
            users
                .verify("claire.martin", "correct horse", SpaceId::Professeur)
                .await,
            Err(DirectLoginError::SpaceNotAllowed)
        );
    }
}
