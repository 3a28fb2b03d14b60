"""Who may see and act on which worker: one place for the workforce's rules.

- Offices (command centre, street, community, grid) see the workers enrolled with, living
  in or assigned to their areas (`Worker.objects.for_user`).
- An organ's liaison (a WORKER user linked by `OrganLiaison`) sees the organ's staff
  wherever they serve.
- A worker sees themself and their team.
"""

from fangkong.core.actors import is_system
from fangkong.core.errors import PermissionDenied
from fangkong.core.roles import Role

from .models import OrganLiaison, Worker


def liaison_organ_id(user) -> int | None:
    """The organ a user speaks for, if they are a liaison (cached on the user)."""
    if user is None or is_system(user) or not getattr(user, "is_authenticated", False):
        return None
    if user.role != Role.WORKER:
        return None
    if not hasattr(user, "_liaison_organ"):
        user._liaison_organ = (
            OrganLiaison.objects.filter(user_id=user.pk).values_list("organ_id", flat=True).first()
        )
    return user._liaison_organ


def is_liaison(user) -> bool:
    return liaison_organ_id(user) is not None


def worker_of(user) -> Worker | None:
    """The worker record of a logged-in worker."""
    if user is None or is_system(user) or not getattr(user, "is_authenticated", False):
        return None
    return Worker.objects.filter(user_id=user.pk).select_related("home_community").first()


def may_see_worker(actor, worker: Worker) -> bool:
    if is_system(actor):
        return True
    return Worker.objects.for_user(actor).filter(pk=worker.pk).exists()


def require_worker_in_reach(actor, worker: Worker) -> None:
    """The actor may act on this worker: an office over their areas, the organ's liaison."""
    if is_system(actor):
        return
    if actor.role == Role.WORKER:
        organ = liaison_organ_id(actor)
        if organ is not None and worker.organ_id == organ:
            return
        raise PermissionDenied("该人员不在您的管理范围内", "this worker is outside your reach")
    if not may_see_worker(actor, worker):
        raise PermissionDenied("该人员不在您的辖区内", "this worker is outside your jurisdiction")


def require_liaison_or_office(actor) -> None:
    """Worker-role users act here only as an organ's liaison."""
    if not is_system(actor) and actor.role == Role.WORKER and not is_liaison(actor):
        raise PermissionDenied("仅单位联络员可进行此操作", "only an organ's liaison may do this")
