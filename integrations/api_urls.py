from core.routers import ApiRouter
from integrations import api

router = ApiRouter()
router.register("integrations", api.IntegrationViewSet, basename="integration")

urlpatterns = router.urls
