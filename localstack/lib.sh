# Sourced by the localstack/ scripts: the pinned moto version, where its venv lives (outside the repo), and the
# endpoint defaults. LocalStack's edge port 4566 is the default so tools configured for LocalStack just work.
# shellcheck source=../scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"
MOTO_VERSION="5.2.5"
MOTO_VENV="$DRAWBRIDGE_CACHE/moto-$MOTO_VERSION"
MOTO_HOST="127.0.0.1"
MOTO_PORT="${DRAWBRIDGE_MOTO_PORT:-4566}"
AWS_REGION_DEFAULT="${AWS_REGION:-us-east-1}"
CLUSTER_NAME_DEFAULT="${DRAWBRIDGE_CLUSTER:-drawbridge}"
# One pid/log file per port, so two endpoints (e.g. a test's and a developer's) never step on each other.
MOTO_RUN="$DRAWBRIDGE_CACHE/run/moto-$MOTO_PORT"
