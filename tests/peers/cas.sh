#!/usr/bin/env bash
# A real CAS server for the CAS delegation tests: django-cas-server (PyPI) in a virtualenv under
# target/peers/, with a generated Django project (sqlite), a test user and a service pattern that allows
# the gateway's callback URLs on loopback. The tests start it themselves (`manage.py runserver` on a
# port they choose), so that they can also stop it to test an unreachable CAS server.
#
# Prints on stdout only:
#   export PASSERELLE_CAS_PYTHON=<venv python>
#   export PASSERELLE_CAS_PROJECT=<project dir holding manage.py>
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD/target/peers/cas"
venv="$root/venv"
project="$root/project"
log() { printf 'cas peer: %s\n' "$*" >&2; }

mkdir -p "$root"
if [ ! -x "$venv/bin/python" ]; then
  log "creating virtualenv"
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import cas_server, django' 2>/dev/null; then
  log "installing django-cas-server"
  "$venv/bin/pip" install --quiet 'django-cas-server==3.1.0' >&2
fi

mkdir -p "$project/casproject"
cat > "$project/manage.py" <<'PY'
#!/usr/bin/env python
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casproject.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
PY
touch "$project/casproject/__init__.py"
cat > "$project/casproject/settings.py" <<'PY'
# Test-only CAS server for Passerelle: loopback, sqlite, debug off.
import os
BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "passerelle-test-only-not-a-secret-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "cas_server",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
]
ROOT_URLCONF = "casproject.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.path.join(BASE_DIR, "db.sqlite3"),
                         "OPTIONS": {"timeout": 20}}}
STATIC_URL = "/static/"
USE_TZ = True
LANGUAGE_CODE = "fr"
CAS_AUTH_CLASS = "casproject.pronote_auth.PronoteUser"
CAS_SHOW_SERVICE_MESSAGES = False
CAS_INFO_MESSAGES_ORDER = []
# Tickets live long enough for a slow CI machine, still single use.
CAS_TICKET_VALIDITY = 60
CAS_SLO_TIMEOUT = 5
PY
# What an ENT releases to PRONOTE besides the Django user fields: the person's categories and birth
# date (ISO, as Open ENT NG sends it; the gateway rewrites it to dd/mm/yyyy).
cat > "$project/casproject/pronote_auth.py" <<'PY'
from cas_server.auth import DjangoAuthUser

PRONOTE_ATTRIBUTES = {
    "claire.martin": {"categories": "National_2", "dateNaissance": "1984-05-12"},
}


class PronoteUser(DjangoAuthUser):
    def attributs(self):
        attributes = super().attributs()
        attributes.update(PRONOTE_ATTRIBUTES.get(self.username, {}))
        return attributes
PY
cat > "$project/casproject/urls.py" <<'PY'
from django.urls import include, path
urlpatterns = [path("cas/", include(("cas_server.urls", "cas_server"), namespace="cas_server"))]
PY

if [ ! -f "$project/.ready-v2" ]; then
  log "creating the database, the test user and the service pattern"
  (cd "$project" && "$venv/bin/python" manage.py migrate --noinput >&2)
  (cd "$project" && "$venv/bin/python" manage.py shell >&2) <<'PY'
from django.contrib.auth.models import User
from cas_server.models import ServicePattern, ReplaceAttributName
user, _ = User.objects.get_or_create(username="claire.martin")
user.first_name = "Claire"; user.last_name = "Martin"; user.email = "claire.martin@example.fr"
user.set_password("mot-de-passe-de-test"); user.save()
pattern, _ = ServicePattern.objects.get_or_create(
    name="passerelle",
    defaults={"pos": 100, "pattern": r"^http://127\.0\.0\.1:[0-9]+/auth/callback/.*$"})
pattern.single_log_out = True
pattern.save()
for name, replace in [("first_name", "prenom"), ("last_name", "nom"), ("email", "mail"), ("username", "login"),
                      ("categories", "categories"), ("dateNaissance", "dateNaissance")]:
    ReplaceAttributName.objects.get_or_create(service_pattern=pattern, name=name, replace=replace)
PY
  touch "$project/.ready-v2"
fi

echo "export PASSERELLE_CAS_PYTHON=$venv/bin/python"
echo "export PASSERELLE_CAS_PROJECT=$project"
