from core.routers import ApiRouter
from jobs import api

router = ApiRouter()
router.register("jobs", api.WorkerJobViewSet, basename="job")
urlpatterns = router.urls
