"""The stored files of photos and templates: removed with their rows, so no photo of a
child outlives its database row. Removed once the deletion is committed
(``transaction.on_commit``): a deletion rolled back leaves the row and its files."""
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from attendance.models.registers import ClassPhoto
from attendance.models.roster import EnrolmentPhoto, LearntTemplate
from attendance.renditions import delete_renditions


def delete_stored_files(rows) -> None:
    """Remove the photo files of rows whose transaction rolled back, so no photo of a
    child is left on disk without its database row. (Such rows never got renditions: the
    worker makes those after the upload committed.)"""
    for row in rows:
        if row.image:
            row.image.storage.delete(row.image.name)


@receiver(post_delete, sender=LearntTemplate)
def _delete_template_crop(sender, instance, **kwargs):
    # Runs for cascades too (deleting a student), so no crop outlives its template.
    if instance.crop:
        storage, name = instance.crop.storage, instance.crop.name
        transaction.on_commit(lambda: storage.delete(name), using=kwargs.get("using"))


@receiver(post_delete, sender=EnrolmentPhoto)
@receiver(post_delete, sender=ClassPhoto)
def _delete_photo_file(sender, instance, **kwargs):
    # Runs for cascades too (deleting a student or a class), so no photo of a child
    # outlives its database row.
    if instance.image:
        storage, name = instance.image.storage, instance.image.name

        def delete_files():
            storage.delete(name)
            delete_renditions(storage, name)

        transaction.on_commit(delete_files, using=kwargs.get("using"))
