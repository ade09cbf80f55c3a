from rest_framework.routers import DefaultRouter

from jobs import api

router = DefaultRouter()
router.include_root_view = False
router.register("jobs", api.WorkerJobViewSet, basename="job")
urlpatterns = router.urls
