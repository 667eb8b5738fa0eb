//! The pages' extractors: axum's `Path`, `Form` and `Query`, whose refusals are the French
//! error page (400 « adresse invalide » / « formulaire invalide ») instead of axum's English
//! plain text. The JSON API has its own (`ApiJson`, `ApiPath`).

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::error::WebError;

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageRejection))]
pub struct Path<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageRejection))]
pub struct Query<T>(pub T);

#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(PageRejection))]
pub struct Form<T>(pub T);

/// What the pages answer to a malformed path, query or form: logged in English, shown in French.
pub struct PageRejection(WebError);

impl From<PathRejection> for PageRejection {
    fn from(r: PathRejection) -> Self {
        tracing::debug!(reason = %r.body_text(), "page path refused");
        // A path that cannot name anything names nothing.
        PageRejection(WebError::NotFound)
    }
}

impl From<QueryRejection> for PageRejection {
    fn from(r: QueryRejection) -> Self {
        tracing::info!(reason = %r.body_text(), "page query refused");
        PageRejection(WebError::BadRequest(
            "adresse invalide : revenez à la page précédente et recommencez".into(),
        ))
    }
}

impl From<FormRejection> for PageRejection {
    fn from(r: FormRejection) -> Self {
        tracing::info!(reason = %r.body_text(), "form refused");
        let message = "formulaire invalide : rechargez la page et recommencez";
        PageRejection(match r {
            // A field that does not hold what it should (a letter in a number): 422, like
            // every refused input.
            FormRejection::FailedToDeserializeFormBody(_) => WebError::Invalid(message.into()),
            _ => WebError::BadRequest(message.into()),
        })
    }
}

impl axum::response::IntoResponse for PageRejection {
    fn into_response(self) -> axum::response::Response {
        self.0.into_response()
    }
}
