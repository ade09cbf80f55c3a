from core.routers import ApiRouter
from webhooks import api

router = ApiRouter()
router.register("webhook-events", api.WebhookEventViewSet, basename="webhook-event")

urlpatterns = router.urls
