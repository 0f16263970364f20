from django.contrib.auth.views import LoginView

login_view = LoginView.as_view()
