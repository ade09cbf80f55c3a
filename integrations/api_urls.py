from rest_framework.routers import DefaultRouter

from integrations import api

router = DefaultRouter()
router.include_root_view = False
router.register("integrations", api.IntegrationViewSet, basename="integration")

urlpatterns = router.urls
