from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "tiendon.readiness"
    label = "readiness"
    verbose_name = "Rollout readiness"
