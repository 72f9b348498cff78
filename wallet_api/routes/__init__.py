"""HTTP routes, one module (and one ``APIRouter``) per resource."""
