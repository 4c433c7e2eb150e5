//! `GET /auth/saml/<space>/<id>/metadata`: a SAML delegation's SP metadata (entityID, signing and
//! encryption certificates, ACS, SLS) at a stable URL, for the IdP's administrators. The same document
//! as `passerelle metadata --space S`.

use http::Response;
use http::header::{CONTENT_TYPE, HeaderValue};

use super::LoginFlow;
use crate::auth::saml::metadata::sp_metadata;
use crate::space::SpaceId;
use crate::ui;
use crate::web::{self, Body};

/// Path prefix of the SAML SP endpoints.
pub const SAML_PREFIX: &str = "/auth/saml/";

impl LoginFlow {
    /// The SP metadata of delegation `id` of `space`; 404 when it is not a SAML delegation.
    pub fn saml_metadata(&self, space: SpaceId, id: &str) -> Response<Body> {
        let Some(saml) = self.delegations.saml(space, id) else {
            return web::page(ui::not_found());
        };
        let mut response = Response::new(web::full(sp_metadata(saml.sp_settings())));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/samlmetadata+xml"),
        );
        response
    }
}

/// `<space>/<id>/metadata` → (space, id).
pub fn parse_metadata_path(rest: &str) -> Option<(SpaceId, &str)> {
    let (space, tail) = rest.split_once('/')?;
    let id = tail.strip_suffix("/metadata")?;
    Some((space.parse().ok()?, id))
}
